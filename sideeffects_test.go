package selfcompile

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

// processWide are the calls that change the state of the whole process:
// a library must leave them to its caller (its main package).
var processWide = map[string]bool{
	"os.Setenv": true, "os.Unsetenv": true, "os.Clearenv": true, "os.Exit": true,
	"os.Chdir": true, "syscall.Setenv": true, "syscall.Exit": true,
	"signal.Notify": true, "signal.NotifyContext": true, "signal.Ignore": true, "signal.Reset": true,
	"unix.Prctl": true,
}

// allowed are the exceptions ("file call"): plugincmd.Main is a command's
// main, mounted as one, and handles SIGINT and SIGTERM while it runs, as
// its documentation says; it stops before it returns. internal/rebuild
// runs only in the helper, a process of its own that no host links (see
// TestHostLinksOnlyWhatItNeeds): it puts the bundled go on its own PATH
// for go/packages, which finds the go command there alone.
var allowed = map[string]bool{
	"plugincmd/plugincmd.go signal.Notify":   true,
	"internal/rebuild/verify.go os.Setenv":   true,
	"internal/rebuild/verify.go os.Unsetenv": true,
}

// TestNoProcessWideMutation fails when library code (every package but
// commands, examples and tests) calls a function that changes the state
// of the whole process: another goroutine of the host would see it.
func TestNoProcessWideMutation(t *testing.T) {
	fset := token.NewFileSet()
	checked := 0
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case "cmd", "example", "testdata", "integration", ".git":
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		checked++
		ast.Inspect(f, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if x, ok := sel.X.(*ast.Ident); ok && processWide[x.Name+"."+sel.Sel.Name] && !allowed[filepath.ToSlash(path)+" "+x.Name+"."+sel.Sel.Name] {
				t.Errorf("%s: library code calls %s.%s", fset.Position(sel.Pos()), x.Name, sel.Sel.Name)
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 20 {
		t.Fatalf("checked only %d files: the walk is broken", checked)
	}
}
