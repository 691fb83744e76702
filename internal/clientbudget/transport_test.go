package clientbudget

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	testingclock "k8s.io/utils/clock/testing"
)

// Clients of different kinds and API groups, each of which client-go would
// give a token bucket of its own, draw from the one budget.
func TestInstrumentSharesOneBudgetAcrossClients(t *testing.T) {
	var served atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		http.NotFound(w, r)
	}))
	defer srv.Close()
	cfg := &rest.Config{Host: srv.URL, QPS: 40, Burst: 80}
	b := New(1, 4, testingclock.NewFakeClock(time.Now()))
	b.Instrument(cfg)
	if cfg.QPS >= 0 || cfg.RateLimiter != nil {
		t.Fatalf("client-go's own limiter is still on: QPS %v, RateLimiter %v", cfg.QPS, cfg.RateLimiter)
	}
	cs, err := kubernetes.NewForConfig(rest.CopyConfig(cfg))
	if err != nil {
		t.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(rest.CopyConfig(cfg))
	if err != nil {
		t.Fatal(err)
	}
	disco, err := discovery.NewDiscoveryClientForConfig(rest.CopyConfig(cfg))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	_, _ = cs.CoreV1().Pods("a").Get(ctx, "p", metav1.GetOptions{})
	_, _ = cs.AppsV1().ReplicaSets("a").Get(ctx, "r", metav1.GetOptions{})
	_, _ = dyn.Resource(schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "rollouts"}).Namespace("a").Get(ctx, "r", metav1.GetOptions{})
	_, _ = disco.ServerVersion()
	if got := served.Load(); got != 4 {
		t.Fatalf("the burst of 4 let %d requests through, want 4", got)
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	_, err = cs.CoordinationV1().Leases("a").Get(short, "l", metav1.GetOptions{})
	if !errors.Is(err, context.DeadlineExceeded) || served.Load() != 4 {
		t.Fatalf("a fifth request from yet another client: err %v, served %d; want it held by the spent budget", err, served.Load())
	}
}
