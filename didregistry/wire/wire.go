// Package wire holds the JSON bodies of the did:tong registry's HTTP API
// that both sides read: didregistry/httpapi writes them and
// didregistry/client reads them. It imports nothing but encoding/json, so
// a client (the wallet in a browser, compiled to WebAssembly) links no
// server code.
//
// The API itself is written down in docs/did-method-tong.md and
// docs/api.md.
package wire

import "encoding/json"

// Proof is an operation's inclusion proof against a checkpoint: the
// element of didResolutionMetadata.proof, and the proof of each entry of
// GET /dids/{did}/log.
type Proof struct {
	LogIndex       int64    `json:"logIndex"`
	Checkpoint     string   `json:"checkpoint"`
	InclusionProof []string `json:"inclusionProof"` // base64 hashes, leaf to root
}

// ChainEntry is one operation of GET /dids/{did}/log.
type ChainEntry struct {
	LogIndex       int64           `json:"logIndex"`
	Operation      json.RawMessage `json:"operation"`
	InclusionProof []string        `json:"inclusionProof"`
}

// ChainResponse is GET /dids/{did}/log: a DID's every operation, each
// with its inclusion proof against Checkpoint (a signed note).
type ChainResponse struct {
	DID        string       `json:"did"`
	Checkpoint string       `json:"checkpoint"`
	Entries    []ChainEntry `json:"entries"`
}

// Receipt is the 201 answer to POST /registry/operations: where the
// acknowledged operation sits in the log.
type Receipt struct {
	Index     int64  `json:"logIndex"`
	DID       string `json:"did"`
	VersionID string `json:"versionId"`
	// TreeSize is the size of the first checkpoint that includes it.
	TreeSize int64 `json:"treeSize"`
}

// IssuerResponse is GET /registry/issuers?url=...: the DID bound to an
// issuer URL.
type IssuerResponse struct {
	URL string `json:"url"`
	DID string `json:"did"`
}

// Info is GET /registry/info: what a client pins to verify the registry
// (the log's origin and note verifier key, and the trust authority's DID).
// A client should take it from configuration; trusting it as served is
// trust on first use.
type Info struct {
	Origin         string `json:"origin"`
	LogKey         string `json:"logKey"`
	TrustAuthority string `json:"trustAuthority,omitempty"`
	TreeSize       int64  `json:"treeSize"`
}
