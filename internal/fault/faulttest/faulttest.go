// Package faulttest helps test the tables that map a package's error codes
// to HTTP statuses: [Codes] lists every code a package declares, read from
// its source, so a code added without a mapping fails the table's test.
package faulttest

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// Codes returns the value of every constant of type typeName (usually
// "Code") that the Go package in dir declares, test files left out. It
// fails t if a constant's value is not a string literal, or if there are
// none.
func Codes(t testing.TB, dir, typeName string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var codes []string
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, s := range gd.Specs {
				vs := s.(*ast.ValueSpec)
				if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != typeName {
					continue
				}
				for i, n := range vs.Names {
					lit, ok := valueAt(vs, i).(*ast.BasicLit)
					if !ok || lit.Kind != token.STRING {
						t.Fatalf("%s: %s %s is not a string literal", fset.Position(n.Pos()), typeName, n.Name)
					}
					v, err := strconv.Unquote(lit.Value)
					if err != nil {
						t.Fatal(err)
					}
					codes = append(codes, v)
				}
			}
		}
	}
	if len(codes) == 0 {
		t.Fatalf("no constants of type %s in %s", typeName, dir)
	}
	return codes
}

func valueAt(vs *ast.ValueSpec, i int) ast.Expr {
	if i < len(vs.Values) {
		return vs.Values[i]
	}
	return nil
}

// CheckTable fails t unless table gives every code the package in dir
// declares (see [Codes]) a 4xx or 5xx status, and names no code it does
// not declare: a new code fails the surface's test until it is mapped.
func CheckTable[C ~string](t *testing.T, dir string, table map[C]int) {
	t.Helper()
	declared := Codes(t, dir, "Code")
	for _, c := range declared {
		s, ok := table[C(c)]
		switch {
		case !ok:
			t.Errorf("code %q of %s has no status in the table", c, dir)
		case s < 400 || s > 599:
			t.Errorf("the table maps %q to %d, want a 4xx or 5xx", c, s)
		}
	}
	for c := range table {
		if !slices.Contains(declared, string(c)) {
			t.Errorf("the table names %q, which %s does not declare", c, dir)
		}
	}
}

// CheckWriter fails t unless write, given an error with each code of
// table, answers with the table's status and a JSON body whose "error" is
// the code. header, when not nil, names a response header each status
// needs (401: WWW-Authenticate, 429: Retry-After).
func CheckWriter[C ~string](t *testing.T, table map[C]int, header map[int]string, write func(w http.ResponseWriter, r *http.Request, c C)) {
	t.Helper()
	for c, want := range table {
		t.Run(string(c), func(t *testing.T) {
			w := httptest.NewRecorder()
			write(w, httptest.NewRequest(http.MethodPost, "/", nil), c)
			var body struct {
				Error string `json:"error"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
				t.Fatalf("the answer to %s is not JSON: %v", c, err)
			}
			if w.Code != want || body.Error != string(c) {
				t.Errorf("%s answered %d %q, want %d %q", c, w.Code, body.Error, want, c)
			}
			if h := header[want]; h != "" && w.Header().Get(h) == "" {
				t.Errorf("%s answered %d without %s", c, want, h)
			}
		})
	}
}
