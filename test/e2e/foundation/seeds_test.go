package foundation

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

// seedFiles are the manifests users apply today (examples/).
func seedFiles(t *testing.T) []string {
	t.Helper()
	dir := filepath.Join(framework.Get(t).RepoRoot, "examples")
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no seed manifests in %s (err %v)", dir, err)
	}
	return files
}

// documents splits a YAML file into objects.
func documents(t *testing.T, path string) []*unstructured.Unstructured {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var out []*unstructured.Unstructured
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		var m map[string]any
		if err := yaml.Unmarshal(doc, &m); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if m == nil {
			continue
		}
		out = append(out, &unstructured.Unstructured{Object: m})
	}
}

// TestSeedsApplyServerSideWithoutLosingFields applies every seed file with
// `kubectl apply --server-side`, as users do, and reads each argoproj.io
// object back: the stored spec must equal the applied one, so the CRD schema
// neither rejects nor silently prunes anything users write.
func TestSeedsApplyServerSideWithoutLosingFields(t *testing.T) {
	e := framework.Get(t)
	for _, file := range seedFiles(t) {
		t.Run(filepath.Base(file), func(t *testing.T) {
			ns := framework.Namespace(t)
			ctx := context.Background()
			if out, err := e.Kubectl(ctx, "apply", "--server-side", "-n", ns, "-f", file); err != nil {
				t.Fatalf("kubectl apply --server-side -f %s: %v\n%s", filepath.Base(file), err, out)
			}
			for _, doc := range documents(t, file) {
				if !strings.HasPrefix(doc.GetAPIVersion(), "argoproj.io/") {
					continue
				}
				got, err := e.Kubectl(ctx, "get", "-n", ns, strings.ToLower(doc.GetKind())+".argoproj.io", doc.GetName(), "-o", "json")
				if err != nil {
					t.Fatalf("read back %s %s: %v", doc.GetKind(), doc.GetName(), err)
				}
				var stored map[string]any
				if err := json.Unmarshal([]byte(got), &stored); err != nil {
					t.Fatal(err)
				}
				want := normalise(t, doc.Object["spec"])
				if have := stored["spec"]; !reflect.DeepEqual(want, have) {
					t.Errorf("%s %s: stored spec differs from the applied one (pruned or altered by the schema)\napplied: %s\nstored:  %s",
						doc.GetKind(), doc.GetName(), mustJSON(want), mustJSON(have))
				}
			}
		})
	}
}

// TestSeedsApplyClientSide applies every seed file with plain `kubectl apply`,
// the command in the tutorials.
func TestSeedsApplyClientSide(t *testing.T) {
	e := framework.Get(t)
	for _, file := range seedFiles(t) {
		t.Run(filepath.Base(file), func(t *testing.T) {
			ns := framework.Namespace(t)
			if out, err := e.Kubectl(context.Background(), "apply", "-n", ns, "-f", file); err != nil {
				t.Fatalf("kubectl apply -f %s: %v\n%s", filepath.Base(file), err, out)
			}
		})
	}
}

// normalise round-trips a YAML-decoded value through JSON so numbers compare
// equal to what the API server returns.
func normalise(t *testing.T, v any) any {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func mustJSON(v any) string {
	data, _ := json.Marshal(v)
	return string(data)
}
