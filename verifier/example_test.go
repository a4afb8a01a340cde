package verifier_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/tongid/tong/did"
	"github.com/tongid/tong/didregistry/client"
	"github.com/tongid/tong/internal/keys"
	"github.com/tongid/tong/internal/store"
	"github.com/tongid/tong/verifier"
)

// registry is the verifier's Registry with nothing in it. tong serve
// passes the verifying didregistry/client; this session never reaches
// the registry, because the wallet declines.
type registry struct{}

func (registry) Accreditations(context.Context) ([]client.Accreditation, error) { return nil, nil }
func (registry) DIDForIssuerURL(context.Context, string) (string, *did.Document, error) {
	return "", nil, &did.Error{Code: did.CodeNotFound}
}

// A counter asks for an identity check; the wallet's answer completes
// the session once. These are the calls verifier/httpapi makes for the
// counter API and the OpenID4VP request and response endpoints.
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "verifier-example")
	defer os.RemoveAll(dir)
	// openDB (opendb_test.go) opens SQLite: store.Open, or sqlitedb.Open
	// where the driver lives in its own package.
	db, err := openDB(ctx, filepath.Join(dir, "tong.db"), store.Options{})
	if err != nil {
		panic(err)
	}
	defer db.Close()
	kd, _ := keys.OpenDir(filepath.Join(dir, "keys"), make([]byte, keys.MasterKeySize))
	_, _ = kd.Create("org-hall", keys.ES256)
	svc, err := verifier.New(ctx, verifier.Config{DB: db, Keys: kd, Registry: registry{}, PublicURL: "https://hall.example"})
	if err != nil {
		panic(err)
	}
	const hall = "did:tong:zHall"
	if err := svc.AddOrg(ctx, verifier.Org{Slug: "hall", Name: "Service Hall", DID: hall, KeyName: "org-hall", KeyID: hall + "#key-1"}); err != nil {
		panic(err)
	}
	_, token, _ := svc.AddCounter(ctx, "hall", "window 1", []string{"identity-basic"})
	counter, _ := svc.Authenticate(ctx, token)

	// The counter starts a session; its QR code holds the request URI.
	sess, err := svc.CreateSession(ctx, counter, verifier.NewRequest{Purpose: "identity-basic"})
	if err != nil {
		panic(err)
	}
	fmt.Println(sess.Status, strings.HasPrefix(sess.RequestURI, "openid4vp://"))

	// The wallet fetches the signed request object.
	jwt, _ := svc.RequestObject(ctx, sess.ID)
	pl, _ := base64.RawURLEncoding.DecodeString(strings.Split(jwt, ".")[1])
	var req struct {
		ClientID     string `json:"client_id"`
		State        string `json:"state"`
		ResponseMode string `json:"response_mode"`
	}
	_ = json.Unmarshal(pl, &req)
	fmt.Println(req.ClientID, req.ResponseMode)

	// A post that does not carry the session's state is refused and
	// changes nothing; the wallet's own answer (here: declined) ends it.
	_, err = svc.HandleResponse(ctx, sess.ID, url.Values{"state": {"guess"}, "error": {"access_denied"}})
	fmt.Println(verifier.CodeOf(err))
	_, err = svc.HandleResponse(ctx, sess.ID, url.Values{"state": {req.State}, "error": {"access_denied"}})
	fmt.Println(verifier.CodeOf(err))
	done, _ := svc.Session(ctx, counter, sess.ID)
	fmt.Println(done.Status, done.Result.Code)
	_, err = svc.HandleResponse(ctx, sess.ID, url.Values{"state": {req.State}, "error": {"access_denied"}})
	fmt.Println(verifier.CodeOf(err))
	// Output:
	// pending true
	// decentralized_identifier:did:tong:zHall direct_post
	// state_mismatch
	// wallet_error
	// rejected wallet_error
	// replay
}
