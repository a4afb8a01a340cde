package docs_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var goIdent = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// TestArchitectureFlowNamesRealCode: every file the "One credential, from
// offer to verdict" table of docs/architecture.md tells a newcomer to open
// exists, and every function named after a file is declared in it (as a
// function or a method). A rename or a move that forgets the doc fails
// here.
func TestArchitectureFlowNamesRealCode(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("architecture.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	start := strings.Index(doc, "## One credential, from offer to verdict")
	if start < 0 {
		t.Fatal("docs/architecture.md has no section \"One credential, from offer to verdict\"")
	}
	section := doc[start:]
	if end := strings.Index(section[3:], "\n## "); end >= 0 {
		section = section[:end+3]
	}
	rows, checked := 0, 0
	for _, line := range strings.Split(section, "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 5 || strings.HasPrefix(strings.TrimSpace(cells[1]), "-") || strings.TrimSpace(cells[1]) == "#" {
			continue
		}
		rows++
		open := cells[len(cells)-2] // the "open" column
		var file, src string
		for _, m := range backticked.FindAllStringSubmatch(open, -1) {
			tok := m[1]
			switch {
			case strings.HasSuffix(tok, ".go"):
				b, err := os.ReadFile(filepath.Join("..", tok))
				if err != nil {
					t.Errorf("row %s: %s does not exist", strings.TrimSpace(cells[1]), tok)
					file, src = "", ""
					continue
				}
				file, src = tok, string(b)
				checked++
			case strings.Contains(tok, "/") && !strings.Contains(tok, " ") && !strings.HasPrefix(tok, "/"):
				if st, err := os.Stat(filepath.Join("..", tok)); err != nil || !st.IsDir() {
					t.Errorf("row %s: package %s does not exist", strings.TrimSpace(cells[1]), tok)
				}
				file, src = "", ""
			case file != "" && goIdent.MatchString(tok):
				decl := regexp.MustCompile(`(?m)^func (\([^)]*\) )?` + tok + `[\[(]`)
				if !decl.MatchString(src) {
					t.Errorf("row %s: %s declares no func %s", strings.TrimSpace(cells[1]), file, tok)
				}
				checked++
			}
		}
	}
	if rows < 10 || checked < 20 {
		t.Fatalf("read %d rows and %d names: the table's shape changed and this test no longer reads it", rows, checked)
	}
}
