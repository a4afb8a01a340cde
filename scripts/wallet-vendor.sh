#!/bin/sh
# wallet-vendor.sh installs the wallet app's browser dependencies from the
# lockfile (web/walletapp/package-lock.json) and copies them into
# web/walletapp/static/vendor, where the Go build embeds them. The copies
# are committed, so building Tong needs neither node nor npm; run this
# after changing package.json (npm install) or to check the copies.
set -eu
cd "$(dirname "$0")/../web/walletapp"
npm ci --ignore-scripts --no-audit --no-fund
mkdir -p static/vendor
cp node_modules/jsqr/dist/jsQR.js static/vendor/jsQR.js
cp node_modules/jsqr/LICENSE static/vendor/jsQR.LICENSE 2>/dev/null || true
echo "vendored jsqr $(node -p 'require("./node_modules/jsqr/package.json").version') into web/walletapp/static/vendor"
