// Package browsertest holds what the tests that drive headless Chromium
// share.
package browsertest

import (
	"os"
	"testing"
	"time"
)

// ProfileDir returns a fresh directory for a Chromium profile
// (chromedp.UserDataDir), removed when t ends. It is not under t.TempDir:
// Chromium's helper processes may still be writing to the profile for a
// moment after the browser is closed, and t.TempDir's removal then fails
// the test with "directory not empty". Here the removal is retried for a
// few seconds, and a profile that cannot be removed is left in the
// system's temporary directory rather than failing a test that passed.
func ProfileDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "tong-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			if err := os.RemoveAll(dir); err == nil || time.Now().After(deadline) {
				if err != nil {
					t.Logf("browsertest: leaving %s: %v", dir, err)
				}
				return
			}
		}
	})
	return dir
}
