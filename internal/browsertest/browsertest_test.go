package browsertest

import (
	"os"
	"path/filepath"
	"testing"
)

// TestProfileDirRemoved: the directory exists during the test and is gone
// after it, contents included.
func TestProfileDirRemoved(t *testing.T) {
	var dir string
	t.Run("use", func(t *testing.T) {
		dir = ProfileDir(t)
		if err := os.MkdirAll(filepath.Join(dir, "Default", "IndexedDB"), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "Default", "IndexedDB", "x"), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	})
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("profile %s still there after its test: %v", dir, err)
	}
}
