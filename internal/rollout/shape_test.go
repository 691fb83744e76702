package rollout

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// planUse is what the shell may use of each planner package: the strategy
// planners' one entry point, the plan's step types, event reasons and a few
// mechanical helpers for applying steps. Anything else a planner decides
// must reach the shell through a plan, not be computed here.
var planUse = map[string]func(name string) bool{
	"canary":    only("Plan"),
	"bluegreen": only("Plan"),
	"pass":      func(string) bool { return true },
	// Fold only words what was decided and done into the reconcile's one
	// Event; what was done is known only as the plan is applied.
	"rules": func(n string) bool {
		return strings.HasPrefix(n, "Reason") || slices.Contains([]string{"Event", "SupersededAnnotation", "Invalid", "CreateRefused", "Fold"}, n)
	},
	// A deleted Rollout has no plan: its Services are released by the
	// shell, with plan/release picking them.
	"release": only("Unreferenced", "Object"),
	// Gathering: the pods are read only while a restart is due.
	"restart":   only("Due"),
	"ephemeral": only("Recorded", "Swap", "Encode"),
	"roles":     only("WithoutInjectedAntiAffinity"),
	// Gathering and the cache's index: which Services the strategy names.
	"services": only("Named"),
	"duration": only("Seconds"),
}

// shellHelpers are the package-level functions the shell may have besides
// its methods: wiring and formatting, no decisions.
var shellHelpers = []string{"rawMerge", "eventType", "Indexes", "serviceNames", "templateIndexValue", "routingError", "slicesOf"}

func only(names ...string) func(string) bool {
	return func(n string) bool { return slices.Contains(names, n) }
}

// The shell holds no decision code: it calls one planner per strategy and
// applies the plan. A test, not a convention, so that a decision added here
// by accident fails the build's tests.
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
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, name, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		plans := map[string]string{} // local name → planner package
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			pkg, ok := strings.CutPrefix(path, "github.com/aviary-rollouts/aviary/internal/plan/")
			if !ok {
				continue
			}
			if _, allowed := planUse[pkg]; !allowed {
				t.Errorf("%s imports internal/plan/%s: a decision belongs in the strategy's planner, which hands the shell a plan", name, pkg)
				continue
			}
			local := pkg
			if imp.Name != nil {
				local = imp.Name.Name
			}
			plans[local] = pkg
		}
		ast.Inspect(f, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if id, ok := sel.X.(*ast.Ident); ok {
				if pkg, ok := plans[id.Name]; ok && !planUse[pkg](sel.Sel.Name) {
					t.Errorf("%s: %s uses %s.%s: have the planner decide it and put it in the plan", fset.Position(sel.Pos()), name, pkg, sel.Sel.Name)
				}
			}
			return true
		})
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Recv != nil || slices.Contains(shellHelpers, fn.Name.Name) {
				continue
			}
			t.Errorf("%s: function %s is not a step of the shell (a method doing I/O): if it decides something, move it into internal/plan",
				fset.Position(fn.Pos()), fn.Name.Name)
		}
	}
}
