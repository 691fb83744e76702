package experiment

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// planUse is what the shell may use of the planner: its entry point, its
// input and output types, the step types and the owner kind. Anything
// else the planner decides must reach the shell through a plan.
var planUse = []string{"Decide", "Observed", "Resolved", "Plan", "Step", "Event", "Kind",
	"CreateReplicaSet", "ScaleReplicaSet", "SetScaleDownDeadline", "CreateService", "DeleteService",
	"CreateRun", "TerminateRun", "Journal", "WriteStatus"}

// shellHelpers are the package-level functions the shell may have besides
// its methods: wiring and formatting, no decisions.
var shellHelpers = []string{"Indexes", "eventType", "runStatusOf"}

// The shell holds no decision code: a test, not a convention, so a
// decision added here by accident fails.
func TestShellHoldsNoDecisions(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		local := ""
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if pkg, ok := strings.CutPrefix(path, "github.com/aviary-rollouts/aviary/internal/plan/"); ok {
				if pkg != "experiment" {
					t.Errorf("%s imports internal/plan/%s: the Experiment shell uses its own planner only", name, pkg)
				}
				local = "experiment"
				if imp.Name != nil {
					local = imp.Name.Name
				}
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok {
				if id, ok := sel.X.(*ast.Ident); ok && local != "" && id.Name == local && !slices.Contains(planUse, sel.Sel.Name) {
					t.Errorf("%s uses experiment.%s: decisions belong in the planner", fset.Position(sel.Pos()), sel.Sel.Name)
				}
			}
			return true
		})
		for _, d := range f.Decls {
			if fn, ok := d.(*ast.FuncDecl); ok && fn.Recv == nil && !slices.Contains(shellHelpers, fn.Name.Name) {
				t.Errorf("%s: package-level function %s in the shell: put the decision in internal/plan/experiment", name, fn.Name.Name)
			}
		}
	}
}
