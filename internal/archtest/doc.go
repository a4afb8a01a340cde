// Package archtest holds no code: its test checks the dependency rules of
// docs/architecture.md against the module as it is, with go list.
//
// The rules:
//
//   - a domain package (issuer, verifier, wallet, didregistry, credential,
//     did, services/*) links no HTTP router (chi), no SQL driver
//     (modernc.org/sqlite, pgx, lib/pq, go-sqlite3) and no Prometheus,
//     directly or through another package;
//   - the wallet built for the browser (GOOS=js GOARCH=wasm) links no
//     server code: none of the above, and no web, HTTP face (httpapi,
//     oid4vci), server store, issuer, verifier or service;
//   - imports point down the layers cmd → web → services → domain →
//     credential, did → internal, and a domain root never imports an HTTP
//     face (its own or another's).
//
// What the tree breaks today is listed in the test's knownExceptions, each
// with its reason. An exception that no longer happens is logged as STALE
// (go test -v ./internal/archtest): delete its line, so that the list only
// shrinks.
package archtest
