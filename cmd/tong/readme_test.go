package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestREADMEWalkthrough runs the README's CLI walkthrough as written, with
// bash, against a fresh demo: the commands a newcomer copies must work.
// Only the demo's address differs (a free port instead of 127.0.0.1:8080,
// replaced in the text and given as TONG_SERVER, the default of --server).
func TestREADMEWalkthrough(t *testing.T) {
	if testing.Short() {
		t.Skip("builds tong and runs the demo")
	}
	for _, tool := range []string{"bash", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is not installed; .ci/run installs it", tool)
			}
			t.Skipf("%s is not installed", tool)
		}
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	script := walkthroughBlock(t, string(readme))

	dir := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(dir, "bin", "tong"), ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	base, _ := serveForTest(t, map[string]string{"TONG_ADDR": "127.0.0.1:0", "TONG_DATA": filepath.Join(dir, "tong-data")}, "--demo")
	script = strings.ReplaceAll(script, "http://127.0.0.1:8080", base)

	cmd := exec.CommandContext(t.Context(), "bash", "-euo", "pipefail", "-c", script)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "TONG_SERVER=" + base}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the README walkthrough failed: %v\n%s", err, out)
	}
	for _, want := range []string{"Received Citizen identity", "Shared with", ": ACCEPTED"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("walkthrough output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(string(out), "pin it with --log-key") && !strings.Contains(string(out), "remembered in") {
		t.Errorf("the wallet trusted a log key on first use without remembering it:\n%s", out)
	}
}

// walkthroughBlock is the README's sh block that runs the wallet.
func walkthroughBlock(t *testing.T, readme string) string {
	t.Helper()
	for _, block := range strings.Split(readme, "```sh\n")[1:] {
		body, _, ok := strings.Cut(block, "```")
		if ok && strings.Contains(body, "tong wallet present") {
			return body
		}
	}
	t.Fatal("README.md has no sh block with `tong wallet present`")
	return ""
}
