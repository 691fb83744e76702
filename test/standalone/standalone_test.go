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

// beside matches a reference to a directory that sits next to the checkout
// on this machine, written as a relative path ("../name") or built with
// filepath.Join("..", "name"). The names are read from the disk, not
// written here, so whatever lies beside a developer's or CI's clone is
// what the check guards against.
func beside(t *testing.T, root string) *regexp.Regexp {
	t.Helper()
	entries, err := os.ReadDir(filepath.Dir(root))
	if err != nil {
		t.Fatalf("read the checkout's parent: %v", err)
	}
	var alts []string
	for _, e := range entries {
		name := e.Name()
		if !e.IsDir() || name == filepath.Base(root) {
			continue
		}
		q := regexp.QuoteMeta(name)
		alts = append(alts, `\.\./`+q+`\b`, `"\.\.",\s*"`+q+`"`)
	}
	if len(alts) == 0 {
		return nil
	}
	return regexp.MustCompile(strings.Join(alts, "|"))
}

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
	outside := beside(t, root)
	if outside == nil {
		return // nothing lies beside the checkout to reach into
	}
	files := strings.Split(strings.TrimRight(string(out), "\x00"), "\x00")
	if len(files) < 100 {
		t.Fatalf("git ls-files listed only %d files", len(files))
	}
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(root, f))
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
