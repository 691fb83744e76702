package trafficsim

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
)

func TestSimulatorCountsBySplit(t *testing.T) {
	c := fake.NewClientBuilder().WithScheme(scheme.Scheme).WithObjects(
		ingress("demo", "demo.local", "demo", nil),
		ingress("demo-demo-canary", "demo.local", "demo-canary", map[string]string{
			"nginx.ingress.kubernetes.io/canary": "true", "nginx.ingress.kubernetes.io/canary-weight": "20"}),
		service("demo", "blue"), service("demo-canary", "yellow"),
		replicaSet("blue", 3, ""), replicaSet("yellow", 1, "50")).Build()
	sim := New(Observer{Client: c, Namespace: "ns", Ingress: "demo"}, Options{RequestsPerSecond: 1000, Tick: 10 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { sim.Run(ctx); close(done) }()
	time.Sleep(300 * time.Millisecond)
	cancel()
	<-done

	if s, err := sim.Split(); err != nil || s.Weight != 20 {
		t.Fatalf("split %+v, %v", s, err)
	}
	rec := httptest.NewRecorder()
	sim.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	values := map[string]float64{}
	for _, line := range strings.Split(rec.Body.String(), "\n") {
		if !strings.HasPrefix(line, "nginx_ingress_controller_requests{") {
			continue
		}
		var v float64
		labels, value, _ := strings.Cut(line, "} ")
		if _, err := fmt.Sscan(value, &v); err != nil {
			t.Fatal(err)
		}
		values[labels+"}"] = v
	}
	ok := values[`nginx_ingress_controller_requests{canary="",ingress="demo",namespace="ns",service="demo",status="200"}`]
	good := values[`nginx_ingress_controller_requests{canary="demo-canary",ingress="demo",namespace="ns",service="demo",status="200"}`]
	bad := values[`nginx_ingress_controller_requests{canary="demo-canary",ingress="demo",namespace="ns",service="demo",status="500"}`]
	total := ok + good + bad
	if total < 100 {
		t.Fatalf("too few requests counted: %v\n%s", values, rec.Body.String())
	}
	if r := bad / total; r < 0.099 || r > 0.101 {
		t.Fatalf("error ratio %v, want 0.1 (20%% of traffic at 50%% errors): %v", r, values)
	}
}
