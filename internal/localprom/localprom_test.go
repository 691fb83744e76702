package localprom

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aviary-rollouts/aviary/internal/localprom/prombin"
)

// A real prometheus scrapes a real exporter; Query reads the sample back.
func TestStartAndQuery(t *testing.T) {
	exporter := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, "# TYPE demo_value gauge\ndemo_value 0.75\n")
	}))
	defer exporter.Close()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	srv, err := Start(context.Background(), Options{Dir: t.TempDir(), Listen: addr, Targets: []string{strings.TrimPrefix(exporter.URL, "http://")}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	got, err := srv.Query(context.Background(), "demo_value")
	if err != nil || len(got) != 1 || got[0] != 0.75 {
		t.Fatalf("demo_value = %v, %v; want [0.75]", got, err)
	}
	if got, err := srv.Query(context.Background(), "absent_metric"); err != nil || len(got) != 0 {
		t.Fatalf("absent_metric = %v, %v; want no sample", got, err)
	}
	if _, err := srv.Query(context.Background(), "sum(("); err == nil {
		t.Fatal("a malformed query succeeded")
	}
}

// With no prometheus on PATH, Start runs the cached build from the Go
// module proxy (building it first if it is not there: minutes, once), and
// that build serves the HTTP API without the web UI's assets.
func TestFallbackToCachedBuild(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("go is not on PATH: %v", err)
	}
	// PATH is a directory holding go alone, whatever else the machine has.
	onlyGo := t.TempDir()
	if err := os.Symlink(goBin, filepath.Join(onlyGo, "go")); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", onlyGo)
	if p, err := exec.LookPath("prometheus"); err == nil {
		t.Fatalf("prometheus still found on PATH: %s", p)
	}

	var log strings.Builder
	bin, err := prombin.Binary(context.Background(), &log)
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	if bin != prombin.CachedPath() {
		t.Fatalf("Binary() = %s, want the cached build %s", bin, prombin.CachedPath())
	}
	if log.Len() > 0 {
		t.Logf("built:\n%s", log.String())
	}

	exporter := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, "# TYPE demo_requests_total counter\ndemo_requests_total 42\n")
	}))
	defer exporter.Close()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	// No Binary in the options: Start resolves it the same way.
	srv, err := Start(context.Background(), Options{Dir: t.TempDir(), Listen: addr, Targets: []string{strings.TrimPrefix(exporter.URL, "http://")}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	if got, err := srv.Query(context.Background(), "up"); err != nil || len(got) != 1 || got[0] != 1 {
		t.Fatalf("up = %v, %v; want [1]", got, err)
	}
	if got, err := srv.Query(context.Background(), "demo_requests_total"); err != nil || len(got) != 1 || got[0] != 42 {
		t.Fatalf("demo_requests_total = %v, %v; want [42]", got, err)
	}
	// It is the build pinned here, not some other prometheus.
	res, err := http.Get(srv.Address + "/api/v1/status/buildinfo")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var info struct {
		Data struct {
			Version string `json:"version"`
		} `json:"data"`
	}
	if err := json.NewDecoder(res.Body).Decode(&info); err != nil || info.Data.Version != prombin.Version {
		t.Fatalf("build info version = %q, %v; want %s", info.Data.Version, err, prombin.Version)
	}
}
