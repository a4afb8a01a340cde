package httpapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/tongid/tong/didregistry/store"
)

// behind is a Log whose newest served checkpoint lags its entries, as a
// replica's does on PostgreSQL between another replica's commit and the
// lease holder's checkpoint.
type behind struct {
	*store.Log
	latest store.Published
}

func (b behind) Latest() store.Published { return b.latest }

// A DID whose newest entries no served checkpoint includes resolves as of
// the served checkpoint, with a proof against it; one created after it is
// not found yet (never an error, never a state without a proof).
func TestResolveAsOfServedCheckpoint(t *testing.T) {
	t.Parallel()
	a, ids := newAPI(t, 3)
	l := a.head.(*store.Log)
	old, err := l.Checkpoint(t.Context(), 2)
	if err != nil {
		t.Fatal(err)
	}
	full := l.Latest()
	p := store.Published{Size: 2, Signed: old}
	lag, err := New(Config{Log: behind{Log: l, latest: p}, Origin: a.cfg.Origin, VerifierKey: a.cfg.VerifierKey})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []int{200, 200, 404} {
		rec := httptest.NewRecorder()
		lag.Routes().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/1.0/identifiers/"+ids[i], nil))
		if rec.Code != want {
			t.Fatalf("resolve DID %d with checkpoint 2 of %d = %d %s, want %d", i, full.Size, rec.Code, rec.Body, want)
		}
		if want != 200 {
			continue
		}
		var res struct {
			ResolutionMetadata struct {
				Proof []Proof `json:"proof"`
			} `json:"didResolutionMetadata"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &res); err != nil || len(res.ResolutionMetadata.Proof) != 1 || res.ResolutionMetadata.Proof[0].Checkpoint != string(old) {
			t.Errorf("resolve DID %d: proof = %+v, %v; want one against the served checkpoint", i, res.ResolutionMetadata.Proof, err)
		}
	}
}
