package v1alpha1_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	utiljson "k8s.io/apimachinery/pkg/util/json"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// repoRoot is the directory holding go.mod, found by walking up from the
// test's working directory.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's working directory")
		}
		dir = parent
	}
}

// seedDoc is one YAML document of a seed manifest, as JSON and as a map.
type seedDoc struct {
	where string // file:index, for messages
	json  []byte
	obj   map[string]any
}

func (d seedDoc) apiVersion() string { s, _ := d.obj["apiVersion"].(string); return s }
func (d seedDoc) kind() string       { s, _ := d.obj["kind"].(string); return s }

// seedDocs reads every document of every file in examples/.
func seedDocs(t *testing.T) []seedDoc {
	t.Helper()
	dir := filepath.Join(repoRoot(t), "examples")
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no seed manifests in %s (err %v)", dir, err)
	}
	var docs []seedDoc
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
		for i := 0; ; i++ {
			raw, err := r.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			js, err := yaml.YAMLToJSON(raw)
			if err != nil {
				t.Fatalf("%s document %d: %v", f, i, err)
			}
			var obj map[string]any
			if err := yaml.Unmarshal(js, &obj); err != nil {
				t.Fatalf("%s document %d: %v", f, i, err)
			}
			if obj == nil { // comments only
				continue
			}
			docs = append(docs, seedDoc{where: fmt.Sprintf("%s#%d", filepath.Base(f), i), json: js, obj: obj})
		}
	}
	return docs
}

// diffJSON compares a decoded input document with the re-encoded output. Every
// value of the input must be in the output unchanged; the output may only add
// empty values (null, "", 0, false, {} or []), which Go's encoding of zero
// values produces. It returns one line per difference, naming the field.
func diffJSON(in, out any) []string {
	var diffs []string
	var walk func(path string, a, b any)
	walk = func(path string, a, b any) {
		switch av := a.(type) {
		case map[string]any:
			bv, ok := b.(map[string]any)
			if !ok {
				diffs = append(diffs, fmt.Sprintf("%s: was an object, re-encoded as %s", path, describe(b)))
				return
			}
			for _, k := range sortedKeys(av) {
				bval, present := bv[k]
				if !present {
					diffs = append(diffs, fmt.Sprintf("%s: field dropped (was %s)", join(path, k), describe(av[k])))
					continue
				}
				walk(join(path, k), av[k], bval)
			}
			for _, k := range sortedKeys(bv) {
				if _, inInput := av[k]; !inInput && !isEmpty(bv[k]) {
					diffs = append(diffs, fmt.Sprintf("%s: field added with %s", join(path, k), describe(bv[k])))
				}
			}
		case []any:
			bv, ok := b.([]any)
			if !ok || len(av) != len(bv) {
				diffs = append(diffs, fmt.Sprintf("%s: list %s re-encoded as %s", path, describe(a), describe(b)))
				return
			}
			for i := range av {
				walk(fmt.Sprintf("%s[%d]", path, i), av[i], bv[i])
			}
		default:
			if !reflect.DeepEqual(number(a), number(b)) {
				diffs = append(diffs, fmt.Sprintf("%s: %s re-encoded as %s", path, describe(a), describe(b)))
			}
		}
	}
	walk("", in, out)
	return diffs
}

// number makes int64 (from the API machinery's JSON decoding) and float64
// (from encoding/json) comparable.
func number(v any) any {
	if i, ok := v.(int64); ok {
		return float64(i)
	}
	return v
}

func isEmpty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case bool:
		return !x
	case float64:
		return x == 0
	case int64:
		return x == 0
	case map[string]any:
		for _, e := range x {
			if !isEmpty(e) {
				return false
			}
		}
		return true
	case []any:
		return len(x) == 0
	}
	return false
}

func describe(v any) string {
	switch x := v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return fmt.Sprintf("a list of %d", len(x))
	case string:
		return fmt.Sprintf("%q", x)
	}
	return fmt.Sprintf("%v (%T)", v, v)
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// mustJSONMap decodes JSON into a generic map the way the API server does
// (integers become int64, which CEL needs).
func mustJSONMap(t *testing.T, data []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := utiljson.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// yamlObj parses a YAML literal of a test case into a generic map.
func yamlObj(t *testing.T, src string) map[string]any {
	t.Helper()
	js, err := yaml.YAMLToJSON([]byte(strings.TrimSpace(src)))
	if err != nil {
		t.Fatalf("bad test YAML: %v\n%s", err, src)
	}
	return mustJSONMap(t, js)
}
