package issuer

import "io/fs"

// Schema is the issuer's migrations, for `tong admin migrate`.
func Schema() fs.FS { return mustSub(migrations, "migrations") }
