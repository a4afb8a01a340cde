package statuslist

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"strconv"
)

// Bitstring Status List purposes (W3C Bitstring Status List v1.0 §2.1).
const (
	PurposeRefresh    = "refresh"
	PurposeRevocation = "revocation"
	PurposeSuspension = "suspension"
	PurposeMessage    = "message"
)

// TypeBitstringStatusListEntry is the credentialStatus type.
const TypeBitstringStatusListEntry = "BitstringStatusListEntry"

// MinBitstringBits is the spec's minimum length.
// Spec: Bitstring Status List v1.0 §2.1: "the uncompressed bitstring
// MUST be at least 16KB in size" (131,072 bits), for herd privacy.
const MinBitstringBits = 131072

// BitstringStatusListEntry is a VCDM 2.0 credentialStatus entry.
type BitstringStatusListEntry struct {
	ID            string `json:"id,omitempty"`
	Type          string `json:"type"`
	StatusPurpose string `json:"statusPurpose"`
	// StatusListIndex is an integer written as a string, as the spec
	// requires.
	StatusListIndex      string `json:"statusListIndex"`
	StatusListCredential string `json:"statusListCredential"`
	StatusSize           int    `json:"statusSize,omitempty"`
}

// Index parses StatusListIndex.
func (e *BitstringStatusListEntry) Index() (int, error) {
	i, err := strconv.Atoi(e.StatusListIndex)
	if err != nil || i < 0 || strconv.Itoa(i) != e.StatusListIndex {
		return 0, errf(CodeMalformed, "statusListIndex %q is not a canonical non-negative integer", e.StatusListIndex)
	}
	return i, nil
}

// Bitstring is a W3C Bitstring Status List: entries of Size bits (the
// statusSize, 1 by default), most significant bit first.
type Bitstring struct {
	statusSize int
	entries    int
	data       []byte
}

// NewBitstring makes a list of entries entries of statusSize bits (1–8),
// all zero. The bitstring is at least MinBitstringBits long.
func NewBitstring(statusSize, entries int) (*Bitstring, error) {
	if statusSize < 1 || statusSize > 8 {
		return nil, errf(CodeBits, "statusSize %d is not in 1..8", statusSize)
	}
	if entries <= 0 || entries > MaxEntries {
		return nil, errf(CodeTooLarge, "entries %d is not in 1..%d", entries, MaxEntries)
	}
	bits := max(entries*statusSize, MinBitstringBits)
	return &Bitstring{statusSize: statusSize, entries: bits / statusSize, data: make([]byte, (bits+7)/8)}, nil
}

// Entries is the number of entries.
func (b *Bitstring) Entries() int { return b.entries }

// Get returns the status at index.
//
// Spec: Bitstring Status List v1.0 §3.2: "The first index, with a value
// of zero (0), is located at the left-most bit in the bitstring".
func (b *Bitstring) Get(index int) (byte, error) {
	if index < 0 || index >= b.entries {
		return 0, errf(CodeOutOfRange, "index %d is outside the list of %d entries", index, b.entries)
	}
	var v byte
	for k := range b.statusSize {
		bit := index*b.statusSize + k
		v = v<<1 | (b.data[bit/8]>>(7-bit%8))&1
	}
	return v, nil
}

// Set sets the status at index.
func (b *Bitstring) Set(index int, status byte) error {
	if index < 0 || index >= b.entries {
		return errf(CodeOutOfRange, "index %d is outside the list of %d entries", index, b.entries)
	}
	if b.statusSize < 8 && status>>b.statusSize != 0 {
		return errf(CodeBits, "status %#x does not fit in %d bits", status, b.statusSize)
	}
	for k := range b.statusSize {
		bit := index*b.statusSize + k
		mask := byte(1) << (7 - bit%8)
		if status>>(b.statusSize-1-k)&1 == 1 {
			b.data[bit/8] |= mask
		} else {
			b.data[bit/8] &^= mask
		}
	}
	return nil
}

// Encode returns the encodedList: multibase base64url ("u" prefix, no
// padding) of the GZIP-compressed bitstring.
func (b *Bitstring) Encode() (string, error) {
	var buf bytes.Buffer
	w, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return "", err
	}
	if _, err := w.Write(b.data); err != nil {
		return "", err
	}
	if err := w.Close(); err != nil {
		return "", err
	}
	return "u" + base64.RawURLEncoding.EncodeToString(buf.Bytes()), nil
}

// DecodeBitstring decodes an encodedList with statusSize bits per entry
// (0 means 1).
func DecodeBitstring(encodedList string, statusSize int) (*Bitstring, error) {
	if statusSize == 0 {
		statusSize = 1
	}
	if statusSize < 1 || statusSize > 8 {
		return nil, errf(CodeBits, "statusSize %d is not in 1..8", statusSize)
	}
	// Spec: §3.2: the encodedList is "a Multibase-encoded base64url (with
	// no padding) representation of the GZIP-compressed bitstring".
	if len(encodedList) < 2 || encodedList[0] != 'u' {
		return nil, errf(CodeMalformed, "encodedList is not multibase base64url (want a 'u' prefix)")
	}
	comp, err := base64.RawURLEncoding.DecodeString(encodedList[1:])
	if err != nil {
		return nil, &Error{Code: CodeMalformed, Description: "encodedList is not base64url", Err: err}
	}
	zr, err := gzip.NewReader(bytes.NewReader(comp))
	if err != nil {
		return nil, &Error{Code: CodeMalformed, Description: "encodedList is not GZIP data", Err: err}
	}
	data, err := readBounded(zr, MaxEntries*statusSize/8)
	if err != nil {
		return nil, err
	}
	if len(data)*8 < MinBitstringBits {
		return nil, errf(CodeMalformed, "the bitstring has %d bits, fewer than the %d the spec requires", len(data)*8, MinBitstringBits)
	}
	return &Bitstring{statusSize: statusSize, entries: len(data) * 8 / statusSize, data: data}, nil
}
