// Package demo runs `make demo`'s code — internal/demo.Run, with the
// binaries, the traffic simulator process, a real Prometheus and the
// dashboard — on the local cluster, and fails unless both paths of the
// headline scenario end as the demo itself checks they must.
package demo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aviary-rollouts/aviary/internal/demo"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

func TestDemo(t *testing.T) {
	e := framework.Get(t)
	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", bin+"/", "./cmd/aviary-controller", "./cmd/aviary-traffic-simulator", "./cmd/kubectl-argo-rollouts")
	build.Dir = e.RepoRoot
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the demo's binaries: %v\n%s", err, out)
	}
	seed, err := os.ReadFile(framework.Example(t, "01-progressive-nginx.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	suffix := make([]byte, 3)
	_, _ = rand.Read(suffix)
	ns := "e2e-demo-" + hex.EncodeToString(suffix)
	t.Cleanup(func() {
		_ = e.Client.Delete(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
	})
	out := &logWriter{t: t}
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Minute)
	defer cancel()
	// The demo's default pause (cmd/aviary-demo), so the test plays what
	// `make demo` plays.
	sum, err := demo.Run(ctx, demo.Options{
		Kubeconfig: e.Kubeconfig, BinDir: bin, Seed: seed, Namespace: ns, Pause: "30s",
		WorkDir: t.TempDir(), Out: out,
	})
	out.flush()
	if err != nil {
		t.Fatal(err)
	}
	if !sum.OK() {
		for _, r := range sum.Results {
			for _, p := range r.Problems {
				t.Errorf("%s path: %s", r.Path, p)
			}
		}
		if len(sum.Results) != 2 {
			t.Errorf("%d paths played, want 2", len(sum.Results))
		}
	}
	for i, want := range []string{"success", "failure"} {
		if i < len(sum.Results) && sum.Results[i].Path != want {
			t.Errorf("path %d is %q, want %q", i, sum.Results[i].Path, want)
		}
	}
	if !strings.HasPrefix(sum.Dashboard, "http://127.0.0.1:") {
		t.Errorf("dashboard URL %q, want one on loopback", sum.Dashboard)
	}
}

// logWriter sends the demo's lines to the test log as they come.
type logWriter struct {
	t   *testing.T
	mu  sync.Mutex
	buf []byte
}

func (w *logWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := strings.IndexByte(string(w.buf), '\n')
		if i < 0 {
			break
		}
		w.t.Log(string(w.buf[:i]))
		w.buf = w.buf[i+1:]
	}
	return len(p), nil
}

func (w *logWriter) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) > 0 {
		w.t.Log(string(w.buf))
		w.buf = nil
	}
}
