package clientside_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/aviary-rollouts/aviary/"

// rules says which packages (by path prefix below the module) must not
// depend, directly or through others, on which: the shared client-side
// pieces import none of their users, and the dashboard and the demo reach
// the CLI's code only through them.
var rules = []struct {
	from   string
	forbid []string
}{
	{"internal/clientside", []string{"internal/cli", "internal/dashboard", "internal/demo"}},
	{"internal/dashboard", []string{"internal/cli"}},
	{"internal/demo", []string{"internal/cli"}},
}

// under reports whether the import path p is the package dir or below it;
// internal/clientside is not under internal/cli.
func under(p, dir string) bool {
	return p == module+dir || strings.HasPrefix(p, module+dir+"/")
}

type listed struct {
	ImportPath string
	Imports    []string
	Deps       []string
}

// TestDependencyDirection lists the packages of each rule with their tests
// (`go list -deps -test`), so a test file's imports count as well.
func TestDependencyDirection(t *testing.T) {
	args := []string{"list", "-deps", "-test", "-json=ImportPath,Imports,Deps"}
	for _, r := range rules {
		args = append(args, module+r.from+"/...")
	}
	cmd := exec.Command("go", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}

	pkgs := map[string]*listed{}
	var order []*listed
	for dec := json.NewDecoder(bytes.NewReader(out)); ; {
		p := new(listed)
		if err := dec.Decode(p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("decoding go list output: %v", err)
		}
		pkgs[p.ImportPath] = p
		order = append(order, p)
	}

	reported := map[string]bool{} // a package and its test variants say it once
	for _, r := range rules {
		seen := false
		for _, p := range order {
			// "x [x.test]" is x compiled with its tests, "x_test [x.test]"
			// its external tests, "x.test" the generated main.
			path, _, _ := strings.Cut(p.ImportPath, " ")
			path = strings.TrimSuffix(strings.TrimSuffix(path, ".test"), "_test")
			if !under(path, r.from) {
				continue
			}
			seen = true
			for _, d := range p.Deps {
				dp, _, _ := strings.Cut(d, " ")
				for _, f := range r.forbid {
					if under(dp, f) && !reported[path+" "+dp] {
						reported[path+" "+dp] = true
						t.Errorf("%s must not depend on %s: %s", p.ImportPath, f, chain(pkgs, p.ImportPath, d))
					}
				}
			}
		}
		if !seen {
			t.Errorf("go list found no package under %s: the rule checks nothing", r.from)
		}
	}
}

// chain is a shortest import path from one listed package to another.
func chain(pkgs map[string]*listed, from, to string) string {
	prev := map[string]string{from: ""}
	queue := []string{from}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		if cur == to {
			var path []string
			for p := to; p != ""; p = prev[p] {
				path = append([]string{strings.TrimPrefix(p, module)}, path...)
			}
			return strings.Join(path, " → ")
		}
		if pkgs[cur] == nil {
			continue
		}
		for _, next := range pkgs[cur].Imports {
			if _, ok := prev[next]; !ok {
				prev[next] = cur
				queue = append(queue, next)
			}
		}
	}
	return strings.TrimPrefix(to, module)
}
