package verifier

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"regexp"
	"strings"

	"github.com/tongid/tong/credential/dcql"
	"github.com/tongid/tong/internal/text"
)

// Purpose is a named preset: what a counter asks for and how the answer is
// judged.
type Purpose struct {
	ID      string          `json:"id"`
	Display []Display       `json:"display"`
	Query   json.RawMessage `json:"dcql_query"`
	// TransactionData, when set, means each request carries one
	// transaction_data object of this type with these members, and the
	// KB-JWT must bind its hash.
	TransactionData *TransactionDataSpec `json:"transaction_data,omitempty"`

	query *dcql.Query
}

// Display is a name in one locale.
type Display struct {
	Name   string `json:"name"`
	Locale string `json:"locale,omitempty"`
}

// TransactionDataSpec describes a purpose's transaction data.
type TransactionDataSpec struct {
	Type     string   `json:"type"`
	Required []string `json:"required"`
}

var purposeID = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,63}$`)

// ParsePurpose decodes and validates a purpose definition.
func ParsePurpose(raw []byte) (*Purpose, error) {
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	var p Purpose
	if err := dec.Decode(&p); err != nil {
		return nil, &Error{Code: CodeInvalidPurpose, Description: "purpose is not valid JSON: " + err.Error()}
	}
	if !purposeID.MatchString(p.ID) {
		return nil, errorf(CodeInvalidPurpose, "purpose id must match %s", purposeID)
	}
	if len(p.Display) == 0 {
		return nil, errorf(CodeInvalidPurpose, "purpose %s needs a display name", p.ID)
	}
	for _, d := range p.Display {
		if err := text.Names("purpose display name", d.Name, d.Locale); err != nil {
			return nil, err
		}
	}
	q, err := dcql.Parse(p.Query)
	if err != nil {
		return nil, &Error{Code: CodeInvalidPurpose, Description: "purpose " + p.ID + ": dcql_query", Err: err}
	}
	for _, cq := range q.Credentials {
		if cq.Format != dcql.FormatSDJWTVC {
			return nil, errorf(CodeInvalidPurpose, "purpose %s: only dc+sd-jwt credentials are supported", p.ID)
		}
		if err := checkPurposeAuthorities(p.ID, &cq); err != nil {
			return nil, err
		}
	}
	if td := p.TransactionData; td != nil && (td.Type == "" || len(td.Required) == 0) {
		return nil, errorf(CodeInvalidPurpose, "purpose %s: transaction_data needs a type and required members", p.ID)
	}
	p.query = q
	return &p, nil
}

//go:embed purposes/*.json
var presets embed.FS

// Presets returns the purposes Tong ships: identity-basic, pay-fee,
// meeting-booking, meeting-checkin.
func Presets() (map[string]*Purpose, error) {
	out := map[string]*Purpose{}
	entries, err := fs.ReadDir(presets, "purposes")
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		raw, _ := presets.ReadFile("purposes/" + e.Name())
		p, err := ParsePurpose(raw)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", e.Name(), err)
		}
		out[p.ID] = p
	}
	return out, nil
}
