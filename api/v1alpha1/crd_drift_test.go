package v1alpha1_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The commands of the Makefile's generate target, run here into a temporary
// directory. TestGenerateTargetMatches keeps the two in step.
var (
	deepcopyArgs = []string{"tool", "controller-gen", "object", "paths=./api/..."}
	crdArgs      = []string{"tool", "controller-gen", "crd:crdVersions=v1,maxDescLen=0", "paths=./api/..."}
	crdOutputArg = "output:crd:artifacts:config="
	crdPatchArgs = []string{"run", "./api/v1alpha1/internal/crdpatch"}
)

const regenerate = "run `make generate` and commit the result"

func goCmd(t *testing.T, root string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return out
}

// TestGeneratedFilesAreUpToDate regenerates the deepcopy functions and the
// CRDs and compares them with the committed files.
func TestGeneratedFilesAreUpToDate(t *testing.T) {
	if testing.Short() {
		t.Skip("runs controller-gen; skipped with -short")
	}
	root := repoRoot(t)

	deepcopy := goCmd(t, root, append(deepcopyArgs, "output:object:stdout")...)
	committed, err := os.ReadFile(filepath.Join(root, "api", "v1alpha1", "zz_generated.deepcopy.go"))
	if err != nil {
		t.Fatalf("%v: %s", err, regenerate)
	}
	if !bytes.Equal(deepcopy, committed) {
		t.Errorf("api/v1alpha1/zz_generated.deepcopy.go is stale: %s", regenerate)
	}

	tmp := t.TempDir()
	goCmd(t, root, append(crdArgs, crdOutputArg+tmp)...)
	goCmd(t, root, append(crdPatchArgs, tmp)...)

	fresh, _ := filepath.Glob(filepath.Join(tmp, "*.yaml"))
	old, _ := filepath.Glob(filepath.Join(root, "config", "crd", "argoproj.io_*.yaml"))
	if len(fresh) == 0 {
		t.Fatal("controller-gen wrote no CRDs")
	}
	oldSet := map[string]bool{}
	for _, f := range old {
		oldSet[filepath.Base(f)] = true
	}
	for _, f := range fresh {
		name := filepath.Base(f)
		want, _ := os.ReadFile(f)
		got, err := os.ReadFile(filepath.Join(root, "config", "crd", name))
		switch {
		case err != nil:
			t.Errorf("config/crd/%s is missing: %s", name, regenerate)
		case !bytes.Equal(got, want):
			t.Errorf("config/crd/%s differs from what the api/ markers generate: %s", name, regenerate)
		}
		delete(oldSet, name)
	}
	for name := range oldSet {
		t.Errorf("config/crd/%s is no longer generated: delete it (or %s)", name, regenerate)
	}
}

// TestGenerateTargetMatches checks that `make generate` runs the commands
// this test file reproduces.
func TestGenerateTargetMatches(t *testing.T) {
	mk, err := os.ReadFile(filepath.Join(repoRoot(t), "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	_, target, ok := strings.Cut(string(mk), "\ngenerate:")
	if !ok {
		t.Fatal("the Makefile has no generate target")
	}
	if end := strings.Index(target, "\n\n"); end >= 0 {
		target = target[:end]
	}
	for _, want := range []string{
		"$(CONTROLLER_GEN) " + strings.Join(deepcopyArgs[2:], " "),
		"$(CONTROLLER_GEN) " + strings.Join(crdArgs[2:], " ") + " " + crdOutputArg + "config/crd",
		"$(GO) " + strings.Join(crdPatchArgs, " ") + " config/crd",
	} {
		if !strings.Contains(target, want) {
			t.Errorf("the generate target no longer runs %q; update crd_drift_test.go to match it", want)
		}
	}
}
