package manager

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/klog/v2"

	"github.com/aviary-rollouts/aviary/internal/freeport"
)

// stagedDiscovery serves the argoproj.io kinds in stages, as an API server
// does while `kubectl apply` creates the CRDs one by one.
type stagedDiscovery struct {
	mu     sync.Mutex
	calls  int
	stages [][]string // kinds served at call i (the last stage from then on); nil: group not found
}

func (d *stagedDiscovery) ServerResourcesForGroupVersion(gv string) (*metav1.APIResourceList, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if gv != "argoproj.io/v1alpha1" {
		return nil, fmt.Errorf("unexpected group version %s", gv)
	}
	kinds := d.stages[min(d.calls, len(d.stages)-1)]
	d.calls++
	if kinds == nil {
		return nil, apierrors.NewNotFound(schema.GroupResource{Group: "argoproj.io"}, "v1alpha1")
	}
	list := &metav1.APIResourceList{GroupVersion: gv}
	for _, k := range kinds {
		list.APIResources = append(list.APIResources, metav1.APIResource{Kind: k, Name: strings.ToLower(k) + "s"})
	}
	return list, nil
}

// syncWriter is a log sink safe to read while written.
type syncWriter struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

func TestWaitForCRDsWaitsUntilEveryKindIsServed(t *testing.T) {
	d := &stagedDiscovery{stages: [][]string{
		nil,
		{"Rollout", "AnalysisRun"},
		{"Rollout", "AnalysisRun", "AnalysisTemplate", "ClusterAnalysisTemplate", "Experiment"},
	}}
	var out syncWriter
	log := slog.New(slog.NewTextHandler(&out, nil))
	if err := WaitForCRDs(context.Background(), d, log, time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if d.calls != 3 {
		t.Errorf("discovery read %d times, want 3", d.calls)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("want two waiting lines and one done line, got:\n%s", out.String())
	}
	for i, want := range []string{
		"waiting for the argoproj.io CRDs to be established: Rollout, AnalysisTemplate, ClusterAnalysisTemplate, AnalysisRun, Experiment not served yet",
		"waiting for the argoproj.io CRDs to be established: AnalysisTemplate, ClusterAnalysisTemplate, Experiment not served yet",
		"the argoproj.io CRDs are established",
	} {
		if !strings.Contains(lines[i], want) {
			t.Errorf("line %d %q, want it to contain %q", i, lines[i], want)
		}
	}
	if !strings.Contains(lines[0], "kubectl apply -f dist/install.yaml") {
		t.Errorf("the waiting line should say how to install the CRDs: %q", lines[0])
	}
}

func TestWaitForCRDsReturnsAtOnceWhenServed(t *testing.T) {
	d := &stagedDiscovery{stages: [][]string{WatchedKinds}}
	var out syncWriter
	if err := WaitForCRDs(context.Background(), d, slog.New(slog.NewTextHandler(&out, nil)), time.Hour); err != nil {
		t.Fatal(err)
	}
	if out.String() != "" {
		t.Errorf("nothing to log when the CRDs are there; got %q", out.String())
	}
}

func TestWaitForCRDsStopsWithTheContext(t *testing.T) {
	d := &stagedDiscovery{stages: [][]string{nil}}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	var out syncWriter
	err := WaitForCRDs(ctx, d, slog.New(slog.NewTextHandler(&out, nil)), 10*time.Millisecond)
	if !errors.Is(err, ErrCRDsMissing) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %v, want ErrCRDsMissing and the context's error", err)
	}
	if n := strings.Count(out.String(), "waiting for the argoproj.io CRDs"); n < 2 {
		t.Errorf("want a waiting line every interval, got %d:\n%s", n, out.String())
	}
}

func TestServeHealthzWhileWaiting(t *testing.T) {
	addr, err := freeport.Loopback()
	if err != nil {
		t.Fatal(err)
	}
	stop, err := ServeHealthz(addr)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/healthz status %d", resp.StatusCode)
	}
	stop()
	// The manager takes the address over afterwards.
	stop, err = ServeHealthz(addr)
	if err != nil {
		t.Fatalf("the address must be free again after stop: %v", err)
	}
	stop()
}

// TestKlogLevel: --kloglevel N shows client-go's V(N) messages at
// --loglevel info, and hides V(N+1).
func TestKlogLevel(t *testing.T) {
	var out syncWriter
	base := slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelInfo}))
	l, err := KlogLogger(base, 4)
	if err != nil {
		t.Fatal(err)
	}
	klog.SetLogger(l)
	defer func() {
		klog.ClearLogger()
		_, _ = KlogLogger(base, 0)
	}()
	klog.V(4).Info("shown at four")
	klog.V(5).Info("hidden at five")
	klog.Flush()
	if !strings.Contains(out.String(), "shown at four") || strings.Contains(out.String(), "hidden at five") {
		t.Errorf("klog output:\n%s", out.String())
	}
	// Verbosity does not lift the base level for ordinary messages.
	var errOut syncWriter
	quiet := slog.New(slog.NewTextHandler(&errOut, &slog.HandlerOptions{Level: slog.LevelError}))
	l, _ = KlogLogger(quiet, 0)
	l.Info("info below the error level")
	if errOut.String() != "" {
		t.Errorf("--loglevel error must still drop info: %q", errOut.String())
	}
}

// refusingDiscovery refuses the controller's credentials, then serves every
// kind (RBAC applied after the controller started).
type refusingDiscovery struct{ calls int }

func (d *refusingDiscovery) ServerResourcesForGroupVersion(gv string) (*metav1.APIResourceList, error) {
	d.calls++
	if d.calls == 1 {
		return nil, apierrors.NewForbidden(schema.GroupResource{Group: "argoproj.io"}, "v1alpha1", errors.New(`User "system:serviceaccount:argo-rollouts:argo-rollouts" cannot get path "/apis/argoproj.io/v1alpha1"`))
	}
	list := &metav1.APIResourceList{GroupVersion: gv}
	for _, k := range WatchedKinds {
		list.APIResources = append(list.APIResources, metav1.APIResource{Kind: k})
	}
	return list, nil
}

// TestWaitForCRDsSaysWhenRefused: a refused discovery call is reported as
// a credentials problem with its fix, not as CRDs not served yet.
func TestWaitForCRDsSaysWhenRefused(t *testing.T) {
	var out syncWriter
	if err := WaitForCRDs(context.Background(), &refusingDiscovery{}, slog.New(slog.NewTextHandler(&out, nil)), time.Millisecond); err != nil {
		t.Fatal(err)
	}
	first := strings.Split(out.String(), "\n")[0]
	for _, want := range []string{"refuses the controller's credentials", "ClusterRole in dist/install.yaml", "cannot get path"} {
		if !strings.Contains(first, want) {
			t.Errorf("first line %q, want it to contain %q", first, want)
		}
	}
	if strings.Contains(first, "not served yet") {
		t.Errorf("a refusal reported as missing CRDs: %q", first)
	}
}
