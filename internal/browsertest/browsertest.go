// Package browsertest holds what the tests that drive headless Chromium
// share.
package browsertest

import (
	"os"
	"os/exec"
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

// Chromium is the path of the Chromium binary. Without one, the test
// fails under CI=true (.ci/run installs Debian's chromium) and is skipped
// elsewhere.
func Chromium(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed; .ci/run installs Debian's chromium package")
	}
	t.Skip("chromium is not installed (apt-get install chromium)")
	return ""
}

// OverflowJS lists what makes a page wider than the screen: the
// document's scrollWidth past the layout viewport's width (clientWidth:
// under mobile emulation innerWidth grows with a page that overflows,
// because the phone zooms out to show it, so it cannot be the measure), and any element reaching past
// the right edge outside a box that scrolls or clips. Evaluate it into a
// []string: empty when the page fits.
const OverflowJS = `(() => {
  const W = document.documentElement.clientWidth, bad = [];
  if (document.documentElement.scrollWidth > W) bad.push("document scrollWidth " + document.documentElement.scrollWidth + " > " + W);
  const name = (el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + (typeof el.className === "string" && el.className ? "." + el.className.trim().split(/\s+/).join(".") : "");
  for (const el of document.body.querySelectorAll("*")) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    if (r.right > W + 1) {
      let p = el.parentElement, clipped = false;
      for (; p && p !== document.body; p = p.parentElement) { if (getComputedStyle(p).overflowX !== "visible") { clipped = true; break; } }
      if (!clipped) bad.push(name(el) + " reaches " + Math.round(r.right) + " px");
    }
  }
  return bad.slice(0, 10);
})()`
