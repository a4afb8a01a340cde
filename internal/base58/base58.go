// Package base58 is the Bitcoin-alphabet base58 of multibase "z"
// (base58btc), used by did:key, Multikey and did:tong identifiers.
package base58

import "errors"

const base58Alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

var base58Index = func() [256]int8 {
	var t [256]int8
	for i := range t {
		t[i] = -1
	}
	for i := range len(base58Alphabet) {
		t[base58Alphabet[i]] = int8(i)
	}
	return t
}()

// Encode encodes b with the Bitcoin alphabet (multibase base58btc).
func Encode(b []byte) string {
	zeros := 0
	for zeros < len(b) && b[zeros] == 0 {
		zeros++
	}
	// log(256)/log(58) < 1.37
	out := make([]byte, (len(b)-zeros)*137/100+1)
	high := len(out) - 1
	for _, c := range b[zeros:] {
		carry := int(c)
		j := len(out) - 1
		for ; j > high || carry != 0; j-- {
			carry += 256 * int(out[j])
			out[j] = byte(carry % 58)
			carry /= 58
		}
		high = j
	}
	i := 0
	for i < len(out) && out[i] == 0 {
		i++
	}
	res := make([]byte, zeros+len(out)-i)
	for k := range zeros {
		res[k] = '1'
	}
	for k, d := range out[i:] {
		res[zeros+k] = base58Alphabet[d]
	}
	return string(res)
}

// Decode decodes Bitcoin-alphabet base58. Every character must be in
// the alphabet.
func Decode(s string) ([]byte, error) {
	if s == "" {
		return nil, errors.New("empty base58 value")
	}
	zeros := 0
	for zeros < len(s) && s[zeros] == '1' {
		zeros++
	}
	// log(58)/log(256) < 0.733
	out := make([]byte, (len(s)-zeros)*733/1000+1)
	high := len(out) - 1
	for i := zeros; i < len(s); i++ {
		d := base58Index[s[i]]
		if d < 0 {
			return nil, errors.New("invalid base58 character")
		}
		carry := int(d)
		j := len(out) - 1
		for ; j > high || carry != 0; j-- {
			carry += 58 * int(out[j])
			out[j] = byte(carry)
			carry >>= 8
		}
		high = j
	}
	i := 0
	for i < len(out) && out[i] == 0 {
		i++
	}
	res := make([]byte, zeros+len(out)-i)
	copy(res[zeros:], out[i:])
	return res, nil
}
