// Package plugintest builds the test plugins (test/plugins/metric,
// trafficrouter and step, each a module of its own built on Argo Rollouts'
// plugin packages) for the tests of Aviary's plugin host, and writes the
// ConfigMap entries that configure them.
package plugintest

import (
	"bufio"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// Name is the plugin's name in the tests' ConfigMaps and metrics.
const Name = "aviary-test/metric"

// Type is what the plugin's Plugin.Type answers.
const Type = "AviaryTestPlugin"

var (
	mu    sync.Mutex
	built = map[string]*build{}
	// buildRoot is the temporary directory as the process started: a
	// test pointing TMPDIR at its own directory must not take the build
	// other tests share with it when it ends.
	buildRoot = os.TempDir()
)

// build is one test plugin's build, done once per test binary.
type build struct {
	once sync.Once
	path string
	err  error
}

// MetricPlugin builds the metric plugin (test/plugins/metric) once per
// test binary and returns the executable's path.
func MetricPlugin(t testing.TB) string {
	t.Helper()
	return Build(t, "metric")
}

// Build builds the test plugin in test/plugins/<dir> (a module of its
// own) once per test binary and returns the executable's path.
func Build(t testing.TB, dir string) string {
	t.Helper()
	mu.Lock()
	b := built[dir]
	if b == nil {
		b = &build{}
		built[dir] = b
	}
	mu.Unlock()
	b.once.Do(func() {
		_, file, _, ok := runtime.Caller(0)
		if !ok {
			b.err = fmt.Errorf("cannot locate test/plugins/%s", dir)
			return
		}
		src := filepath.Join(filepath.Dir(file), "..", "plugins", dir)
		out, err := os.MkdirTemp(buildRoot, "aviary-test-plugin-")
		if err != nil {
			b.err = err
			return
		}
		b.path = filepath.Join(out, dir)
		cmd := exec.Command("go", "build", "-o", b.path, ".")
		cmd.Dir = src
		if msg, err := cmd.CombinedOutput(); err != nil {
			b.err = fmt.Errorf("build the test plugin (cd test/plugins/%s && go build): %w\n%s", dir, err, msg)
		}
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

// Sum is the sha256 of the file at path, as sha256sum prints it.
func Sum(t testing.TB, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

// PID is the pid the plugin wrote to its --marker file, 0 if it never
// started.
func PID(t testing.TB, marker string) int {
	t.Helper()
	b, err := os.ReadFile(marker)
	if os.IsNotExist(err) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(string(b))
	if err != nil {
		t.Fatalf("marker %s holds %q: %v", marker, b, err)
	}
	return pid
}

// Running reports whether pid is a process that has not exited (a zombie
// has: it only waits for its parent to read its status).
func Running(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// "pid (comm) state ...": comm may hold spaces; the state follows its ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && s[i+2] != 'Z'
}

// WaitExited fails the test unless pid exits within ten seconds.
func WaitExited(t testing.TB, pid int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for Running(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("plugin process %d still runs", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Plugins is the metricProviderPlugins list of argo-rollouts-config naming
// the test plugin with the given fields (YAML, one per line, e.g.
// "location: file:///path").
func Plugins(fields ...string) string {
	return Item(Name, fields...)
}

// Item is one entry of a plugin list of argo-rollouts-config naming the
// plugin name with the given fields (YAML, one per line).
func Item(name string, fields ...string) string {
	item := "- name: " + name + "\n"
	for _, f := range fields {
		item += "  " + f + "\n"
	}
	return item
}

//go:embed testdata/rollout.yaml
var rolloutYAML []byte

// Rollout is a Rollout with every part a plugin may read set
// (testdata/rollout.yaml): the canary strategy with every kind of step,
// trafficRouting.plugins["aviary-test/router"], a full pod template and a
// status in the middle of a plugin step.
func Rollout(t testing.TB) *v1alpha1.Rollout {
	t.Helper()
	var ro v1alpha1.Rollout
	if err := yaml.UnmarshalStrict(rolloutYAML, &ro); err != nil {
		t.Fatalf("testdata/rollout.yaml: %v", err)
	}
	return &ro
}

// RolloutLost are the fields of Rollout a plugin built on Argo Rollouts
// v1.9.2 cannot receive, with why: the same is lost between Argo Rollouts
// and its plugins, or is Aviary's own.
var RolloutLost = map[string]string{
	".spec.template.spec.containers[0].resources.limits.cpu":    "resource.Quantity has no exported fields for gob",
	".spec.template.spec.containers[0].resources.limits.memory": "resource.Quantity has no exported fields for gob",
	".status.controllerPauseStep":                               "Aviary's own status field",
}

// Same fails the test unless got equals want but for the lost fields (JSON
// paths such as ".spec.replicas", each with why it is lost; each must
// still be lost), listing the paths that differ: what a plugin built on
// Argo Rollouts' types decoded (got, echoed back as JSON) against what
// was sent.
func Same(t testing.TB, what string, got, want any, lost map[string]string) {
	t.Helper()
	g, w := flatten(t, got), flatten(t, want)
	var diffs []string
	for k, v := range w {
		_, expected := lost[k]
		if g[k] != v && !expected {
			diffs = append(diffs, fmt.Sprintf("%s: decoded %q, sent %q", k, g[k], v))
		}
		if g[k] == v && expected {
			diffs = append(diffs, fmt.Sprintf("%s: arrived, but the test says it is lost because %s", k, lost[k]))
		}
	}
	for k, v := range g {
		if _, ok := w[k]; !ok {
			diffs = append(diffs, fmt.Sprintf("%s: decoded %q, not sent", k, v))
		}
	}
	slices.Sort(diffs)
	if len(diffs) > 0 {
		t.Errorf("%s: the plugin did not decode what was sent:\n%s", what, strings.Join(diffs, "\n"))
	}
}

// flatten is v's JSON as leaf path → value.
func flatten(t testing.TB, v any) map[string]string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var tree any
	if err := json.Unmarshal(b, &tree); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	var walk func(path string, n any)
	walk = func(path string, n any) {
		switch n := n.(type) {
		case map[string]any:
			for k, c := range n {
				walk(path+"."+k, c)
			}
		case []any:
			for i, c := range n {
				walk(fmt.Sprintf("%s[%d]", path, i), c)
			}
		default:
			b, _ := json.Marshal(n)
			out[path] = string(b)
		}
	}
	walk("", tree)
	return out
}

// Configured builds the test plugin in test/plugins/<dir> and returns the
// ConfigMap argo-rollouts-config, in namespace, listing it under key
// (e.g. "stepPlugins") as name with its sha256 and the arguments
// --record FILE and args, and FILE, where it records its calls (Calls).
func Configured(t testing.TB, namespace, key, dir, name string, args ...string) (*corev1.ConfigMap, string) {
	t.Helper()
	bin := Build(t, dir)
	record := filepath.Join(t.TempDir(), "calls.jsonl")
	quoted, err := json.Marshal(append([]string{"--record", record}, args...))
	if err != nil {
		t.Fatal(err)
	}
	return &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "argo-rollouts-config"},
		Data:       map[string]string{key: Item(name, "location: file://"+bin, "sha256: "+Sum(t, bin), "args: "+string(quoted))},
	}, record
}

// Calls reads what a test plugin recorded in path, one JSON object a
// line; nil when it recorded nothing yet.
func Calls[T any](t testing.TB, path string) []T {
	t.Helper()
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []T
	s := bufio.NewScanner(f)
	s.Buffer(nil, 4<<20)
	for s.Scan() {
		var c T
		if err := json.Unmarshal(s.Bytes(), &c); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, c)
	}
	if err := s.Err(); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return out
}
