// Package docs holds no code: its test keeps docs/threat-model.md honest.
package docs_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var (
	backticked = regexp.MustCompile("`([^`]+)`")
	testFunc   = regexp.MustCompile(`^(Test|Fuzz|Benchmark|Example)\w+$`)
	funcDecl   = regexp.MustCompile(`(?m)^func ((?:Test|Fuzz|Benchmark|Example)\w+)\(`)
	// A subtest as the doc names it: t.Run's name with spaces as
	// underscores, the way go test prints it.
	subtestName = regexp.MustCompile(`^[a-z][A-Za-z0-9-]*(_[A-Za-z0-9+.-]+)+$`)
)

// repoTests reads every *_test.go file of the repository: the names of
// the test functions they define, and their text (for subtest names).
func repoTests(t *testing.T) (map[string]bool, string) {
	t.Helper()
	funcs := map[string]bool{}
	var text strings.Builder
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "node_modules" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range funcDecl.FindAllSubmatch(b, -1) {
			funcs[string(m[1])] = true
		}
		text.Write(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return funcs, text.String()
}

// TestThreatModelNamesRealTests: every test that docs/threat-model.md
// names exists. A test function (`TestX`, `FuzzX`) must be defined in
// some *_test.go file of the repository; a subtest named in a table's
// test column (`replayed_vp_token`) must be a t.Run or table-case name
// in one (underscores standing for spaces). A renamed or deleted test
// fails here instead of leaving a defence that nothing guards.
func TestThreatModelNamesRealTests(t *testing.T) {
	raw, err := os.ReadFile("threat-model.md")
	if err != nil {
		t.Fatal(err)
	}
	funcs, text := repoTests(t)
	if len(funcs) < 100 {
		t.Fatalf("found only %d test functions in the repository; is the walk rooted wrong?", len(funcs))
	}
	named, subtests := 0, 0
	testColumn := false
	for i, line := range strings.Split(string(raw), "\n") {
		cells := strings.Split(strings.Trim(strings.TrimSpace(line), "|"), "|")
		isRow := strings.HasPrefix(strings.TrimSpace(line), "|")
		if !isRow {
			testColumn = false
		} else if strings.TrimSpace(cells[len(cells)-1]) == "test" {
			testColumn = true // a table whose last column names tests
			continue
		}
		for _, m := range backticked.FindAllStringSubmatch(line, -1) {
			if name := m[1]; testFunc.MatchString(name) {
				named++
				if !funcs[name] {
					t.Errorf("threat-model.md:%d names %s, which no *_test.go file defines", i+1, name)
				}
			}
		}
		if !isRow || !testColumn {
			continue
		}
		for _, m := range backticked.FindAllStringSubmatch(cells[len(cells)-1], -1) {
			name := m[1]
			if !subtestName.MatchString(name) {
				continue
			}
			subtests++
			pat := `"` + strings.ReplaceAll(regexp.QuoteMeta(name), "_", "[ _]") + `"`
			if !regexp.MustCompile(pat).MatchString(text) {
				t.Errorf("threat-model.md:%d names the subtest %s, which no *_test.go file has", i+1, name)
			}
		}
	}
	t.Logf("%d test names and %d subtest names checked", named, subtests)
	if named < 50 || subtests < 10 {
		t.Errorf("found %d test names and %d subtest names in threat-model.md; the parser missed them", named, subtests)
	}
}
