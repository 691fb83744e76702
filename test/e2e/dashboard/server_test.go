package dashboard

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

// cliBinary builds cmd/kubectl-argo-rollouts once per package run, so the
// tests always drive the dashboard of the checkout (a bin/ left by an
// older `make build` could be stale) and `go test` alone works.
var cliBinary = sync.OnceValues(func() (string, error) {
	root, err := framework.RepoRoot()
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "aviary-e2e-dashboard-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "kubectl-argo-rollouts")
	build := exec.Command("go", "build", "-o", bin, "./cmd/kubectl-argo-rollouts")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build kubectl-argo-rollouts: %w\n%s", err, out)
	}
	return bin, nil
})

// dashboard is a running `kubectl-argo-rollouts dashboard` process.
type dashboard struct {
	t  testing.TB
	ns string
	// URL is the address it printed, e.g. http://127.0.0.1:40123/rollouts.
	URL string
	// Addr is the host:port of URL.
	Addr string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	// kill ends the process at once and waits for it.
	kill func()
}

// announce is the line the command prints once it listens.
var announce = regexp.MustCompile(`Argo Rollouts Dashboard is now available at (http://\S+) \(namespace (\S+)\)`)

// startDashboard runs the dashboard for namespace ns on port ("0" lets
// the system choose, so parallel tests never race for a port) and waits
// for its announcement. The process is killed when the test ends; its
// output is logged if the test failed.
func startDashboard(t testing.TB, ns, port string) *dashboard {
	t.Helper()
	return startDashboardWith(t, ns, framework.Get(t).Kubeconfig, "dashboard", "-p", port)
}

// startDashboardWith runs `kubectl-argo-rollouts --kubeconfig KUBECONFIG
// -n NS ARGS...` (ARGS starting with "dashboard") as startDashboard does.
func startDashboardWith(t testing.TB, ns, kubeconfig string, args ...string) *dashboard {
	t.Helper()
	bin, err := cliBinary()
	if err != nil {
		t.Fatal(err)
	}
	// Cancelling the context kills the process.
	ctx, cancel := context.WithCancel(context.Background())
	d := &dashboard{t: t, ns: ns, done: make(chan struct{})}
	d.kill = func() { cancel(); <-d.done }
	// The process writes straight into a file, so reading its output
	// needs no goroutine and keeps everything it said.
	f, err := os.CreateTemp(t.TempDir(), "dashboard-*.log")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d.log = f.Name()
	args = append([]string{"--kubeconfig", kubeconfig, "-n", ns}, args...)
	d.cmd = exec.CommandContext(ctx, bin, args...)
	d.cmd.Stdout, d.cmd.Stderr = f, f
	if err := d.cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start kubectl-argo-rollouts %v: %v", args, err)
	}
	go func() { _ = d.cmd.Wait(); close(d.done) }()
	t.Cleanup(func() {
		d.kill()
		if t.Failed() {
			t.Logf("kubectl-argo-rollouts %v output:\n%s", args, d.output())
		}
	})
	framework.Eventually(t, 30*time.Second, "the dashboard to announce its address", func() (bool, string) {
		select {
		case <-d.done:
			t.Fatalf("kubectl-argo-rollouts %v exited before listening: %s", args, d.output())
		default:
		}
		m := announce.FindStringSubmatch(d.output())
		if m == nil {
			return false, fmt.Sprintf("output so far: %q", d.output())
		}
		if m[2] != ns {
			t.Fatalf("the dashboard announced namespace %q, want %q", m[2], ns)
		}
		d.URL = m[1]
		return true, ""
	})
	u, err := url.Parse(d.URL)
	if err != nil || u.Path != "/rollouts" {
		t.Fatalf("announced address %q: want http://HOST:PORT/rollouts (%v)", d.URL, err)
	}
	d.Addr = u.Host
	return d
}

func (d *dashboard) output() string {
	b, _ := os.ReadFile(d.log)
	return string(b)
}

// stop ends the process as Ctrl-C would and waits for it to exit.
func (d *dashboard) stop() {
	d.t.Helper()
	_ = d.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-d.done:
	case <-time.After(10 * time.Second):
		d.t.Fatalf("the dashboard did not exit within 10s of SIGINT; output:\n%s", d.output())
	}
}

// Port is the port it listens on.
func (d *dashboard) Port() string {
	_, port, _ := net.SplitHostPort(d.Addr)
	return port
}

// api is the URL of an API path ("rollouts/NS/info").
func (d *dashboard) api(path string) string { return d.URL + "/api/v1/" + path }

// reply is an HTTP answer as a test reads it.
type reply struct {
	Status int
	Header http.Header
	Body   string
}

// do sends one request with extra headers; a "Host" one replaces the
// URL's host in the request line's Host header.
func (d *dashboard) do(method, rawURL, body string, header map[string]string) reply {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, rawURL, strings.NewReader(body))
	if err != nil {
		d.t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	// A client sends req.Host, never a Host header.
	req.Host = cmp.Or(header["Host"], req.Host)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		d.t.Fatalf("%s %s: %v", method, rawURL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		d.t.Fatalf("%s %s: read body: %v", method, rawURL, err)
	}
	return reply{Status: resp.StatusCode, Header: resp.Header, Body: string(b)}
}

// getJSON GETs an API path and decodes its 200 answer into v.
func (d *dashboard) getJSON(path string, v any) {
	d.t.Helper()
	r := d.do(http.MethodGet, d.api(path), "", nil)
	if r.Status != http.StatusOK {
		d.t.Fatalf("GET %s: %d %s", path, r.Status, r.Body)
	}
	if err := json.Unmarshal([]byte(r.Body), v); err != nil {
		d.t.Fatalf("GET %s: %v in %s", path, err, r.Body)
	}
}

// csrfMeta finds the token the page carries for the API.
var csrfMeta = regexp.MustCompile(`<meta name="csrf-token" content="([^"]+)">`)

// token reads the CSRF token from the page, as the page's script does.
func (d *dashboard) token() string {
	d.t.Helper()
	r := d.do(http.MethodGet, d.URL+"/", "", nil)
	m := csrfMeta.FindStringSubmatch(r.Body)
	if r.Status != http.StatusOK || m == nil {
		d.t.Fatalf("GET %s/: %d, no csrf-token meta element in:\n%s", d.URL, r.Status, r.Body)
	}
	return m[1]
}
