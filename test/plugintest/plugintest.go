// Package plugintest builds the test metric plugin (test/plugins/metric, a
// module of its own built on Argo Rollouts' plugin packages) for the tests
// of Aviary's plugin host, and writes the ConfigMap that configures it.
package plugintest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Name is the plugin's name in the tests' ConfigMaps and metrics.
const Name = "aviary-test/metric"

// Type is what the plugin's Plugin.Type answers.
const Type = "AviaryTestPlugin"

var (
	once     sync.Once
	built    string
	buildErr error
)

// MetricPlugin builds the plugin once per test binary and returns the
// executable's path.
func MetricPlugin(t testing.TB) string {
	t.Helper()
	once.Do(func() {
		_, file, _, ok := runtime.Caller(0)
		if !ok {
			buildErr = fmt.Errorf("cannot locate test/plugins/metric")
			return
		}
		src := filepath.Join(filepath.Dir(file), "..", "plugins", "metric")
		dir, err := os.MkdirTemp("", "aviary-test-plugin-")
		if err != nil {
			buildErr = err
			return
		}
		built = filepath.Join(dir, "metric")
		cmd := exec.Command("go", "build", "-o", built, ".")
		cmd.Dir = src
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("build the test metric plugin (cd test/plugins/metric && go build): %w\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return built
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
	item := "- name: " + Name + "\n"
	for _, f := range fields {
		item += "  " + f + "\n"
	}
	return item
}
