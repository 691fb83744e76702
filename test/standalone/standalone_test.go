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

// reference matches a path written relative to the checkout's parent,
// "../name" or filepath.Join("..", "name"); the name is its first or
// second group.
var reference = regexp.MustCompile(`\.\./([A-Za-z0-9_.-]+)|"\.\.",\s*"([^"]+)"`)

// beside is the set of directories that sit next to the checkout on this
// machine. The names are read from the disk, not written here, so whatever
// lies beside a developer's or CI's clone is what the check guards
// against. (They are looked up in a set, not joined into one pattern: a
// clone in a crowded directory such as /tmp made that pattern thousands of
// alternatives long and the test take minutes.)
func beside(t *testing.T, root string) map[string]bool {
	t.Helper()
	entries, err := os.ReadDir(filepath.Dir(root))
	if err != nil {
		t.Fatalf("read the checkout's parent: %v", err)
	}
	names := map[string]bool{}
	for _, e := range entries {
		if e.IsDir() && e.Name() != filepath.Base(root) {
			names[e.Name()] = true
		}
	}
	return names
}

// reaches reports whether line names a directory in outside by a path
// relative to the checkout's parent.
func reaches(line string, outside map[string]bool) bool {
	for _, m := range reference.FindAllStringSubmatch(line, -1) {
		if outside[m[2]] {
			return true
		}
		// "../notes.md" reaches "notes" too (a name ends where a word
		// does), and "../v1.2/x" reaches "v1.2".
		for name := m[1]; name != ""; {
			if outside[name] {
				return true
			}
			i := strings.LastIndexByte(name, '.')
			if i < 0 {
				break
			}
			name = name[:i]
		}
	}
	return false
}

func TestReaches(t *testing.T) {
	outside := map[string]bool{"nextdoor": true, "v1.2": true}
	for line, want := range map[string]bool{
		"see ../nextdoor/reference.md":        true,
		`filepath.Join("..", "nextdoor")`:     true,
		"../nextdoor.md":                      true,
		"../v1.2/notes":                       true,
		"../other/x and ../nextdoorx":         false,
		"./nextdoor/x":                        false,
		`filepath.Join("..", "nextdoor-not")`: false,
	} {
		if got := reaches(line, outside); got != want {
			t.Errorf("reaches(%q) = %v, want %v", line, got, want)
		}
	}
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
	if len(outside) == 0 {
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
			if reaches(line, outside) {
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
