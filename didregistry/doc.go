// Package didregistry is the did:tong method: operations (create, update,
// deactivate, accredit), the rules that accept them, replay of a DID's
// chain into states, resolution, and the signed checkpoints of the one
// append-only Merkle log that holds every operation.
//
// It stores nothing and serves nothing: the log on SQLite is
// [github.com/tongid/tong/didregistry/store], the HTTP API
// [github.com/tongid/tong/didregistry/httpapi], a verifying client
// [github.com/tongid/tong/didregistry/client], and witnesses
// [github.com/tongid/tong/didregistry/witness].
//
// # Operations
//
// A DID is self-certifying: its SCID is the multihash of its canonical
// (RFC 8785) genesis operation ([NewGenesis]). Each later operation names
// its predecessor's version ([Next]), is signed by a current update key (or
// one committed to by nextKeyHashes), and is checked by [Rules]. [Replay]
// turns a chain of log entries into [State]s; [ResolveStates] answers DID
// Resolution for a version or a time. docs/did-method-tong.md is the method
// specification.
//
// # Log
//
// Leaves are hashed as in RFC 6962 (golang.org/x/mod/sumdb/tlog) and
// checkpoints are C2SP signed notes ([ParseCheckpoint], [OpenCheckpoint]).
// A [Tracker] remembers the newest checkpoint a client has verified, so a
// log that shows two histories is caught.
//
// # Specs
//
//   - [DID Core] 1.0 and [DID Resolution] (HTTP binding).
//   - [RFC 6962] Merkle trees, C2SP [tlog-checkpoint] and signed-note.
//   - [RFC 8785] JSON Canonicalization Scheme.
//
// [DID Core]: https://www.w3.org/TR/did-core/
// [DID Resolution]: https://w3c.github.io/did-resolution/
// [RFC 6962]: https://www.rfc-editor.org/rfc/rfc6962
// [tlog-checkpoint]: https://c2sp.org/tlog-checkpoint
// [RFC 8785]: https://www.rfc-editor.org/rfc/rfc8785
package didregistry
