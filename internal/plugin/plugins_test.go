package plugin

import (
	"bufio"
	"context"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/aviary-rollouts/aviary/test/plugintest"
)

// configMap is argo-rollouts-config listing the test metric plugin with
// the given fields (YAML, one per line).
func configMap(fields ...string) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "rollouts", Name: ConfigMapName},
		Data: map[string]string{MetricProvider.Key(): plugintest.Plugins(fields...)}}
}

func prepare(t *testing.T, objs ...client.Object) (*Plugins, error) {
	t.Helper()
	r := fake.NewClientBuilder().WithScheme(scheme.Scheme).WithObjects(objs...).Build()
	p, err := Prepare(context.Background(), r, "rollouts", []Kind{MetricProvider}, slog.New(slog.DiscardHandler))
	if err == nil {
		t.Cleanup(p.Stop)
	}
	return p, err
}

// privateTemp points TMPDIR, where Prepare makes its directory, at a
// directory of the test's.
func privateTemp(t *testing.T) string {
	dir := t.TempDir()
	t.Setenv("TMPDIR", dir)
	return dir
}

func entries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

// The binary would write a marker if it ever ran: with a sha256 that is
// not its own it never does, and nothing is left behind; with its own it
// runs (so the marker proves something).
func TestChecksumMismatchNeverRuns(t *testing.T) {
	bin := plugintest.MetricPlugin(t)
	marker := filepath.Join(t.TempDir(), "ran")
	tmp := privateTemp(t)
	wrong := sumOf([]byte("a different build"))
	_, err := prepare(t, configMap("location: file://"+bin, "sha256: "+wrong, "args: [--marker, "+marker+"]"))
	want := fmt.Sprintf(`MetricProvider plugin %q from file://%s: sha256 mismatch: the binary's is %s, the ConfigMap's sha256 is %s; refusing to run it`,
		plugintest.Name, bin, plugintest.Sum(t, bin), wrong)
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("error %v, want it to contain %q", err, want)
	}
	if pid := plugintest.PID(t, marker); pid != 0 {
		t.Fatalf("the refused binary ran (pid %d)", pid)
	}
	if left := entries(t, tmp); len(left) != 0 {
		t.Errorf("left behind in TMPDIR: %v", left)
	}

	p, err := prepare(t, configMap("location: file://"+bin, "sha256: "+plugintest.Sum(t, bin), "args: [--marker, "+marker+"]"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Host(MetricProvider).Client(plugintest.Name); err != nil {
		t.Fatal(err)
	}
	pid := plugintest.PID(t, marker)
	if pid == 0 || !plugintest.Running(pid) {
		t.Fatalf("the verified binary did not run (marker pid %d)", pid)
	}
	p.Stop()
	plugintest.WaitExited(t, pid)
	if left := entries(t, tmp); len(left) != 0 {
		t.Errorf("Stop left behind in TMPDIR: %v", left)
	}
}

// A binary replaced after it was fetched is not what was verified:
// go-plugin checks the file again right before starting it.
func TestReplacedBinaryNeverRuns(t *testing.T) {
	bin := plugintest.MetricPlugin(t)
	privateTemp(t)
	p, err := prepare(t, configMap("location: file://"+bin))
	if err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(t.TempDir(), "ran")
	fetched := p.Host(MetricProvider).plugins[plugintest.Name].bin.Path
	if err := os.WriteFile(fetched, []byte("#!/bin/sh\necho ran > "+marker+"\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	_, err = p.Host(MetricProvider).Client(plugintest.Name)
	if err == nil || !strings.Contains(err.Error(), `start MetricProvider plugin "aviary-test/metric": checksums did not match`) {
		t.Fatalf("error %v, want the checksum refused", err)
	}
	if _, err := os.Stat(marker); !os.IsNotExist(err) {
		t.Fatalf("the replaced binary ran: %v", err)
	}
}

// The controller does not start when a plugin cannot be fetched.
func TestPrepareRefusesUnfetchable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	tmp := privateTemp(t)
	_, err := prepare(t, configMap("location: "+srv.URL+"/v1/plugin"))
	want := `the controller does not start without the plugins ConfigMap rollouts/argo-rollouts-config lists: ` +
		`MetricProvider plugin "aviary-test/metric" from ` + srv.URL + `/v1/plugin: download: the server answered 404 Not Found`
	if err == nil || err.Error() != want {
		t.Errorf("error %v, want %q", err, want)
	}
	if left := entries(t, tmp); len(left) != 0 {
		t.Errorf("left behind in TMPDIR: %v", left)
	}
	// Nor with a malformed ConfigMap, whichever list is wrong.
	bad := configMap("location: file:///x")
	bad.Data[Step.Key()] = "- {name: no-owner, location: 'file:///y'}"
	if _, err := prepare(t, bad); err == nil || !strings.Contains(err.Error(), `key stepPlugins, plugin "no-owner"`) {
		t.Errorf("malformed stepPlugins: %v", err)
	}
}

// Without a ConfigMap or a list of the prepared kind, nothing is fetched
// and the kind's host hosts nothing.
func TestPrepareWithoutPlugins(t *testing.T) {
	tmp := privateTemp(t)
	for _, objs := range [][]client.Object{nil, {&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "rollouts", Name: ConfigMapName},
		Data: map[string]string{TrafficRouter.Key(): "- {name: argoproj-labs/gatewayAPI, location: 'https://example.invalid/p'}"}}}} {
		p, err := prepare(t, objs...)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.Host(MetricProvider).Client("a/b"); err == nil || !strings.Contains(err.Error(), "not configured") {
			t.Errorf("Client of an unlisted plugin: %v", err)
		}
		if left := entries(t, tmp); len(left) != 0 {
			t.Errorf("made %v with nothing to fetch", left)
		}
	}
}

// hostHelperEnv makes the test binary a host process for
// TestPluginDiesWithHost.
const hostHelperEnv = "AVIARY_PLUGIN_HOST_HELPER"

func TestMain(m *testing.M) {
	if bin := os.Getenv(hostHelperEnv); bin != "" {
		hostHelper(bin)
		return
	}
	os.Exit(m.Run())
}

// hostHelper starts the plugin at bin, says so on stdout and waits to be
// killed.
func hostHelper(bin string) {
	bins := []Binary{{Item: Item{Name: plugintest.Name, Kind: MetricProvider, Args: []string{"--marker", os.Getenv("MARKER")}}, Path: bin, Sum: sha(bin)}}
	h := NewHost(MetricProvider, bins, slog.New(slog.DiscardHandler))
	if _, err := h.Client(plugintest.Name); err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	fmt.Println("started")
	select {}
}

func sha(path string) []byte {
	b, _ := os.ReadFile(path)
	s := sha256.Sum256(b)
	return s[:]
}

// A controller killed outright (SIGKILL, OOM) leaves no plugin running.
func TestPluginDiesWithHost(t *testing.T) {
	bin := plugintest.MetricPlugin(t)
	marker := filepath.Join(t.TempDir(), "ran")
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, "-test.run=^$")
	cmd.Env = append(os.Environ(), hostHelperEnv+"="+bin, "MARKER="+marker)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(out).ReadString('\n')
	if line != "started\n" {
		_ = cmd.Process.Kill()
		t.Fatalf("host helper: %q", line)
	}
	pid := plugintest.PID(t, marker)
	if pid == 0 || !plugintest.Running(pid) {
		t.Fatalf("plugin not running (marker pid %d)", pid)
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	plugintest.WaitExited(t, pid)
}

// Measurements in parallel share one process, started once.
func TestConcurrentUseStartsOneProcess(t *testing.T) {
	bin := plugintest.MetricPlugin(t)
	privateTemp(t)
	p, err := prepare(t, configMap("location: file://"+bin))
	if err != nil {
		t.Fatal(err)
	}
	h := p.Host(MetricProvider)
	clients := make(chan any, 16)
	var wg sync.WaitGroup
	for range cap(clients) {
		wg.Go(func() {
			c, err := h.Client(plugintest.Name)
			if err != nil {
				t.Error(err)
			}
			var typ string
			if err := Call(context.Background(), c, "Plugin.Type", new(any), &typ); err != nil || typ != plugintest.Type {
				t.Errorf("Type = %q, %v", typ, err)
			}
			clients <- c
		})
	}
	wg.Wait()
	close(clients)
	first := <-clients
	for c := range clients {
		if c != first {
			t.Fatal("parallel uses got clients of different processes")
		}
	}
}
