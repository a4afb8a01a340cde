// Package wallet is a citizen's wallet as a library, for a phone app, a
// kiosk or the `tong wallet` CLI to embed.
//
// # Store
//
// A wallet's records live in a [Store]: one SQLite file natively
// (wallet/sqlitestore; [Create], [Open] and [Import] take its path), the
// browser's IndexedDB when compiled to WebAssembly (wallet/idbstore, used
// by wallet/wasm), or memory (wallet/memstore). [New], [Unlock] and
// [Restore] take any Store. Every record (credential, receipt) is sealed
// with XChaCha20-Poly1305 under a random data key before it reaches the
// store, with the record's kind and id as associated data, so records
// cannot be swapped or moved and every store holds the same sealed
// format: a backup made from one restores into another. The data key is
// sealed under a key that Argon2id derives from the passphrase; the
// parameters and salt are stored with it ([DefaultKDF] for the CLI,
// [PhoneKDF] in the browser). A wrong passphrase returns
// [ErrWrongPassphrase]; after [LockoutFreeTries] in a row, unlocking is
// refused for a while ([ErrLockedOut]), the same for every front end. A
// damaged record makes the call that reads it fail with [ErrCorrupt],
// and no partial result is returned. ChangePassphrase re-seals the data
// key only. Export writes one encrypted backup file.
//
// # Status and one-time copies
//
// Each credential is held as several one-time copies. When the unused
// ones fall to Options.RefillAt, Present refills them with the issuer's
// refresh token; Match refills an exhausted credential or fails with
// [CodeCopiesExhausted]. [Wallet.RefreshStatus] reads each credential's
// entry in its issuer's status list (cached for the list's ttl), so
// [Credential].Status shows valid, suspended, revoked or expired;
// [Wallet.Refresh] does both, for an app's background upkeep.
//
// # Receiving (OpenID4VCI 1.0)
//
// Receive takes an offer URI (openid-credential-offer://, by value or by
// reference, or an https link carrying one) and the PIN the agency gave
// the citizen. It fetches and checks the issuer metadata
// (credential_issuer must equal the offer's), asks the registry which
// did:tong agency owns the issuer URL and whether it is accredited for the
// credential's vct (Options.Registry), runs the pre-authorized code flow,
// and asks for a batch of copies, each bound to a fresh P-256 key. Every
// copy is checked before anything is stored: the issuer's signature, iss,
// vct, cnf equal to the key the wallet proved, and the status list entry.
// The issuer is notified of acceptance or failure. Refill later fetches a
// fresh batch with the issuer's refresh token, while the credential is
// still valid.
//
// # Presenting (OpenID4VP 1.0, DCQL)
//
// Match fetches the request object (request_uri; typ oauth-authz-req+jwt),
// checks it and evaluates its dcql_query (a trusted_authorities query of
// type aki matches the AuthorityKeyIdentifiers of a credential's x5c
// chain, OpenID4VP 1.0 §6.1.1.1). For the
// decentralized_identifier: client_id prefix, the signing key must be an
// authentication key of the verifier's DID document, resolved with proofs
// through the registry, and the DID must be accredited for the purpose the
// request names (the tong_purpose claim). The redirect_uri: prefix is
// accepted only unsigned, and Request.Verified is false. Present asks a
// ConsentFunc with the verifier, the purpose, the exact claims and any
// transaction_data; sends only the claims the citizen approved, each
// credential from an unused one-time copy, with a KB-JWT (nonce, aud = the
// full client_id, sd_hash, transaction_data_hashes); posts with
// direct_post; and records a Receipt. The wallet never follows HTTP
// redirects, and speaks only https (loopback http when allowed).
//
// Two presentations therefore share no issuer signature, salt, holder key
// or KB-JWT, and verifiers cannot link them.
package wallet
