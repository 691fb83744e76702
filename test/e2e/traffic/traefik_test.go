package traffic

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

// TestTraefikSeed02 plays seed 02 with its pauses shortened and its
// analysis pointed at the test's Prometheus (healthy traffic): the weighted
// TraefikService goes 80/20, 60/40, 40/60, 20/80 and ends 100/0 on the new
// stable.
func TestTraefikSeed02(t *testing.T) {
	e := framework.Get(t)
	ctx := context.Background()
	ns := framework.Namespace(t)
	traffic := framework.StartRequestCounter(t, "traefik_service_requests_total", "traefik", "traefik-service", 0)
	prom := framework.StartPrometheus(t, traffic.Addr)
	framework.StartController(t, "--leader-elect=false", "--namespaced", "--namespace", ns)
	raw, err := os.ReadFile(framework.Example(t, "02-progressive-traefik.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	seed := strings.NewReplacer("duration: 2m", "duration: 2", "http://prometheus-kube-prometheus-prometheus.prometheus:9090", prom.Address,
		"interval: 10s", "interval: 1s", "[60s]", "[10s]").Replace(string(raw))
	if out, err := e.KubectlStdin(ctx, []byte(seed), "apply", "-n", ns, "-f", "-"); err != nil {
		t.Fatalf("apply seed 02: %v\n%s", err, out)
	}
	weights := func() string {
		obj := &unstructured.Unstructured{}
		obj.SetAPIVersion("traefik.io/v1alpha1")
		obj.SetKind("TraefikService")
		if err := e.Client.Get(ctx, framework.Key(ns, "traefik-service"), obj); err != nil {
			return err.Error()
		}
		services, _, _ := unstructured.NestedSlice(obj.Object, "spec", "weighted", "services")
		var w []string
		for _, s := range services {
			m := s.(map[string]any)
			w = append(w, fmt.Sprint(m["weight"]))
		}
		return strings.Join(w, "/")
	}
	rollout := func() *v1alpha1.Rollout {
		var r v1alpha1.Rollout
		_ = e.Client.Get(ctx, framework.Key(ns, "canary-demo"), &r)
		return &r
	}
	framework.Eventually(t, 60*time.Second, "the first version Healthy", func() (bool, string) {
		return rollout().Status.Phase == v1alpha1.RolloutPhaseHealthy, string(rollout().Status.Phase)
	})
	framework.SetRolloutImage(t, ns, "canary-demo", "argoproj/rollouts-demo:green")
	var seen []string // stable/canary weights in the order observed
	framework.Eventually(t, 120*time.Second, "the update completes", func() (bool, string) {
		w := weights()
		if len(seen) == 0 || seen[len(seen)-1] != w {
			seen = append(seen, w)
		}
		r := rollout()
		return r.Status.Phase == v1alpha1.RolloutPhaseHealthy && r.Status.StableRS == r.Status.CurrentPodHash && r.Status.ObservedGeneration == "2" &&
			w == "100/0", fmt.Sprintf("weights seen %v; %s %q", seen, r.Status.Phase, r.Status.Message)
	})
	want := []string{"80/20", "60/40", "40/60", "20/80", "100/0"}
	i := 0
	for _, w := range seen {
		if i < len(want) && w == want[i] {
			i++
		}
	}
	if i != len(want) {
		t.Errorf("weights seen %v, want in order %v", seen, want)
	}
}
