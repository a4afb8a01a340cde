package wallet

import "crypto/rand"

var randReader = rand.Reader
