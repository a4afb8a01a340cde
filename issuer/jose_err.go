package issuer

import (
	"errors"

	"github.com/tongid/tong/internal/jose"
)

func asJOSE(err error, target **jose.Error) bool { return errors.As(err, target) }
