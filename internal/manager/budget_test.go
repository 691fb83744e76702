package manager

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/internal/events"
)

// Every kind of client the controller builds from RESTConfig — the
// controller-runtime client, the dynamic client of the tolerant informers,
// discovery, the leader-election lock, the event journal's clientset — draws
// from the one budget of --qps/--burst: a burst of 6 lets six requests
// through in all, not six per client.
func TestEveryClientOfRESTConfigSharesTheBudget(t *testing.T) {
	var served atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		http.NotFound(w, r)
	}))
	defer srv.Close()
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	kc := "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: \"" + srv.URL + "\"}}]\n" +
		"users: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n"
	if err := os.WriteFile(kubeconfig, []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}
	// One token every 1,000 s after the burst: nothing refills during the test.
	o, _ := parseArgo(t, "--kubeconfig", kubeconfig, "--qps", "0.001", "--burst", "6", "--namespace", "aviary")
	cfg, err := o.RESTConfig()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	scheme, err := Scheme()
	if err != nil {
		t.Fatal(err)
	}
	mapper := meta.NewDefaultRESTMapper(nil)
	mapper.Add(corev1.SchemeGroupVersion.WithKind("Pod"), meta.RESTScopeNamespace)
	crc, err := client.New(rest.CopyConfig(cfg), client.Options{Scheme: scheme, Mapper: mapper})
	if err != nil {
		t.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(rest.CopyConfig(cfg))
	if err != nil {
		t.Fatal(err)
	}
	disco, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	lock, err := o.leaseLock(cfg, "me")
	if err != nil {
		t.Fatal(err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	journal := &events.Journal{Events: cs.CoreV1(), Host: "me", Now: time.Now}

	_ = crc.Get(ctx, client.ObjectKey{Namespace: "a", Name: "p"}, &corev1.Pod{})
	_, _ = dyn.Resource(schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "rollouts"}).Namespace("a").Get(ctx, "r", metav1.GetOptions{})
	_, _ = disco.ServerVersion()
	_, _, _ = lock.Get(ctx)
	_ = journal.Record(ctx, events.Subject{Kind: "Rollout", Namespace: "a", Name: "r"}, false, "Reason", "message")
	_, _ = cs.AppsV1().ReplicaSets("a").Get(ctx, "rs", metav1.GetOptions{})
	if got := served.Load(); got != 6 {
		t.Fatalf("a burst of 6 let %d requests through, want 6", got)
	}
	for name, send := range map[string]func(context.Context) error{
		"controller-runtime client": func(ctx context.Context) error {
			return crc.Get(ctx, client.ObjectKey{Namespace: "a", Name: "p"}, &corev1.Pod{})
		},
		"leader-election lock": func(ctx context.Context) error { _, _, err := lock.Get(ctx); return err },
		"event journal": func(ctx context.Context) error {
			return journal.Record(ctx, events.Subject{Kind: "Rollout", Namespace: "a", Name: "r"}, false, "Reason", "message")
		},
	} {
		short, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
		err := send(short)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s, once the budget is spent: %v, want it held until its context ends", name, err)
		}
	}
	if got := served.Load(); got != 6 {
		t.Errorf("%d requests reached the server, want the 6 of the burst", got)
	}
}

func TestNegativeQPSLiftsTheBudget(t *testing.T) {
	o := parse(t, "--qps", "-1", "--burst", "0")
	if err := o.Validate(); err != nil {
		t.Fatalf("--qps -1: %v", err)
	}
	if b := o.ClientBudget(); b != nil {
		t.Fatalf("--qps -1 gave a budget of %v/s", b.QPS())
	}
}
