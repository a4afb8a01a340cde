// Package walletapp is the citizen's wallet as a web app: an installable
// page (Web App Manifest, service worker, icons) around the wallet
// library compiled to WebAssembly (tong-wallet.wasm, built by `make
// wallet-wasm`), which keeps the credentials sealed in the browser's
// IndexedDB.
//
// # Serving
//
// [New] builds the app from the embedded files: every asset gets its
// content hash in its name (cached for a year, immutable), and the page,
// the service worker and the manifest, which must be revalidated, are
// rendered with those names. [App.Handler] serves it (with gzip and a
// strict Content-Security-Policy: no inline script, 'wasm-unsafe-eval'
// for the engine); `tong serve` mounts it at /wallet/. [App.Export]
// writes the same files for any static host (`tong wallet-app --out
// DIR`). Without the engine the page says how to build it.
//
// # Links into the app
//
// Tong's pages open the app on the same device with
//
//	/wallet/#offer=<url-encoded openid-credential-offer:// URI>
//	/wallet/#request=<url-encoded openid4vp:// URI>&return=<url-encoded page URL>
//
// After presenting, the app goes to the redirect_uri of the verifier's
// response (OpenID4VP 1.0, Response Mode "direct_post"), else to return, which it follows only
// on the verifier's own origin or the app's.
//
// # Scanning
//
// The camera (getUserMedia, rear camera) is decoded with the browser's
// BarcodeDetector where it reads QR codes, else with jsQR, vendored from
// npm with a lockfile (scripts/wallet-vendor.sh). Pasting a link works
// everywhere.
package walletapp
