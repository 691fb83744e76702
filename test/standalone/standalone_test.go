// Package standalone checks that the repository stands on its own: a user
// or contributor has a clone of it and nothing beside it, so no tracked
// file may reach outside the checkout for fixtures, docs or defaults.
package standalone

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// outside matches the ways a file could name the design material that sat
// next to the repository during development (../shared), as a relative
// path or built with filepath.Join.
var outside = regexp.MustCompile(`\.\./shared\b|"\.\.",\s*"shared"|shared/(examples|design|reference)\b`)

func TestNothingReadsOutsideTheCheckout(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("git", "ls-files", "-z")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git ls-files (the test needs a git checkout): %v", err)
	}
	self, _ := filepath.Abs("standalone_test.go")
	files := strings.Split(strings.TrimRight(string(out), "\x00"), "\x00")
	if len(files) < 100 {
		t.Fatalf("git ls-files listed only %d files", len(files))
	}
	for _, f := range files {
		path := filepath.Join(root, f)
		if path == self {
			continue
		}
		data, err := os.ReadFile(path)
		if err != nil || bytes.IndexByte(data, 0) >= 0 {
			continue // unreadable (a deleted file not yet committed) or binary
		}
		for i, line := range strings.Split(string(data), "\n") {
			if outside.MatchString(line) {
				t.Errorf("%s:%d reaches outside the repository: %s", f, i+1, strings.TrimSpace(line))
			}
		}
	}
}

// The examples the tests and the demo play are in the repository.
func TestExamplesAreInTheRepository(t *testing.T) {
	files, err := filepath.Glob("../../examples/*.yaml")
	if err != nil || len(files) < 8 {
		t.Fatalf("examples/: %d manifests (err %v), want the eight scenarios", len(files), err)
	}
	if _, err := os.Stat("../../docs/architecture.md"); err != nil {
		t.Fatalf("docs/architecture.md: %v", err)
	}
}
