package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tongid/tong/didregistry"
	"github.com/tongid/tong/didregistry/client"
)

// TestInquiryCLI asks a question on a demo topic as a citizen, answers it
// as the housing commission's staff, and reads the answer; the PSB's
// token cannot see it.
func TestInquiryCLI(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	base, _ := serveForTest(t, map[string]string{"TONG_ADDR": "127.0.0.1:0", "TONG_DATA": data}, "--demo")
	raw, err := os.ReadFile(filepath.Join(data, "demo.json"))
	if err != nil {
		t.Fatal(err)
	}
	var demo demoFile
	if err := json.Unmarshal(raw, &demo); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"TONG_SERVER": base}
	tong := func(want int, env map[string]string, args ...string) string {
		t.Helper()
		code, out, errOut := runTong(t, env, args...)
		if code != want {
			t.Fatalf("tong %s = %d, want %d\n%s%s", strings.Join(args, " "), code, want, out, errOut)
		}
		return out + errOut
	}
	var topics struct {
		Topics []struct{ ID, Name, Agency string }
	}
	if err := json.Unmarshal([]byte(tong(0, env, "inquiry", "topics", "--agency", "housing", "--json")), &topics); err != nil || len(topics.Topics) == 0 {
		t.Fatalf("topics: %v %+v", err, topics)
	}
	out := tong(0, env, "inquiry", "ask", topics.Topics[0].ID, "--text", "Can I apply while renting?")
	secret := regexp.MustCompile(`tong_iq_[A-Za-z0-9_-]+`).FindString(out)
	ref := regexp.MustCompile(`INQ-[A-Z0-9]+`).FindString(out)
	if secret == "" || ref == "" {
		t.Fatalf("ask printed %q", out)
	}
	housing := map[string]string{"TONG_SERVER": base, "TONG_TOKEN": demo.Agencies[1].Token}
	psb := map[string]string{"TONG_SERVER": base, "TONG_TOKEN": demo.Agencies[0].Token}
	if out := tong(0, housing, "inquiry", "queue"); !strings.Contains(out, ref) || !strings.Contains(out, "1 open") {
		t.Errorf("housing's queue: %s", out)
	}
	if out := tong(1, psb, "inquiry", "view", ref); !strings.Contains(out, "not_found") {
		t.Errorf("the PSB sees housing's inquiry: %s", out)
	}
	tong(0, housing, "inquiry", "answer", ref, "--text", "Yes, bring your lease.")
	citizen := map[string]string{"TONG_SERVER": base, "TONG_SECRET": secret}
	if out := tong(0, citizen, "inquiry", "show"); !strings.Contains(out, "ANSWERED") || !strings.Contains(out, "Yes, bring your lease.") || strings.Contains(out, "tok_") {
		t.Errorf("the citizen's thread: %s", out)
	}
	tong(0, citizen, "inquiry", "reply", "--text", "Thanks")
	tong(0, housing, "inquiry", "close", ref)
	if out := tong(1, citizen, "inquiry", "reply", "--text", "again"); !strings.Contains(out, "inquiry_closed") {
		t.Errorf("reply after close: %s", out)
	}
	if out := tong(2, env, "inquiry", "show"); !strings.Contains(out, "--secret") {
		t.Errorf("show without a secret: %s", out)
	}
	// The demo hall is accredited to ask for the inquiry proofs.
	c, err := client.New(client.Config{BaseURL: base, Origin: demo.Registry.Origin, LogKey: demo.Registry.LogKey, TrustAuthority: demo.Registry.TrustAuthority})
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := c.Accredited(t.Context(), demo.Counters[2].DID, didregistry.RoleVerifier, "inquiry-resident-age-60", time.Now()); !ok || err != nil {
		t.Errorf("the hall is not accredited for inquiry-resident-age-60: %v %v", ok, err)
	}
}
