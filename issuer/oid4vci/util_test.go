package oid4vci_test

import (
	"io"
	"net/http"

	"github.com/tongid/tong/credential"
	"github.com/tongid/tong/issuer"
)

func ioCopy(w io.Writer, resp *http.Response) (int64, error) {
	defer resp.Body.Close()
	return io.Copy(w, resp.Body)
}

func disclosable(t *issuer.CredentialType) []credential.Path {
	var out []credential.Path
	for _, c := range t.Claims {
		if !c.Disclosable() {
			continue
		}
		if _, ok := t.ExampleClaims[c.Path[0]]; !ok {
			continue
		}
		p := credential.Path{}
		for _, s := range c.Path {
			p = append(p, s)
		}
		out = append(out, p)
	}
	return out
}

// benchParallelism is the wallets per CPU in BenchmarkIssuanceFlow.
var benchParallelism = 4
