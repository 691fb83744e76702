package traffic

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

// TestMissingRouterObjectsAreInvalidSpec: each router's missing (or
// unusable) object stops the rollout with InvalidSpec naming the field and
// the object, and an event says the same; creating the object lets the
// rollout go on.
func TestMissingRouterObjectsAreInvalidSpec(t *testing.T) {
	cases := []struct {
		name, routing, objects, want, fix string
	}{
		{
			name:    "nginx ingress missing",
			routing: "        nginx:\n          stableIngress: web",
			want:    `spec.strategy.canary.trafficRouting.nginx.stableIngress: Ingress "web" not found in namespace`,
			fix: `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web}
spec:
  rules:
  - host: web.example.com
    http:
      paths:
      - path: /
        pathType: Prefix
        backend: {service: {name: web-stable, port: {number: 80}}}
`,
		},
		{
			name:    "nginx ingress without a stable rule",
			routing: "        nginx:\n          stableIngress: web",
			objects: `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web}
spec:
  rules:
  - host: web.example.com
    http:
      paths:
      - path: /
        pathType: Prefix
        backend: {service: {name: something-else, port: {number: 80}}}
`,
			want: `spec.strategy.canary.trafficRouting.nginx.stableIngress: ingress "web" has no rules using service "web-stable" backend`,
		},
		{
			name:    "traefik service missing",
			routing: "        traefik:\n          weightedTraefikServiceName: web-weighted",
			want:    `spec.strategy.canary.trafficRouting.traefik.weightedTraefikServiceName: TraefikService "web-weighted" not found`,
		},
		{
			name:    "istio virtual service missing",
			routing: "        istio:\n          virtualService:\n            name: web-vs",
			want:    `spec.strategy.canary.trafficRouting.istio.virtualService.name`,
		},
		{
			name:    "gateway api route missing",
			routing: "        plugins:\n          argoproj-labs/gatewayAPI:\n            httpRoute: web-route",
			want:    `spec.strategy.canary.trafficRouting.plugins["argoproj-labs/gatewayAPI"]`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := framework.Get(t)
			ctx := context.Background()
			ns := framework.Namespace(t)
			framework.StartController(t, "--leader-elect=false", "--namespaced", "--namespace", ns)
			manifest := strings.Replace(routedRollout, "ROUTING", tc.routing, 1)
			if tc.objects != "" {
				manifest += "---\n" + tc.objects
			}
			if out, err := e.KubectlStdin(ctx, []byte(manifest), "apply", "-n", ns, "-f", "-"); err != nil {
				t.Fatalf("apply: %v\n%s", err, out)
			}
			var ro v1alpha1.Rollout
			framework.Eventually(t, 90*time.Second, "InvalidSpec naming the field and object", func() (bool, string) {
				_ = e.Client.Get(ctx, framework.Key(ns, "web"), &ro)
				var cond *v1alpha1.RolloutCondition
				for i := range ro.Status.Conditions {
					if ro.Status.Conditions[i].Type == v1alpha1.InvalidSpec {
						cond = &ro.Status.Conditions[i]
					}
				}
				return cond != nil && strings.Contains(cond.Message, tc.want) && ro.Status.Phase == v1alpha1.RolloutPhaseDegraded,
					fmt.Sprintf("%s %q", ro.Status.Phase, ro.Status.Message)
			})
			var events corev1.EventList
			framework.Eventually(t, 10*time.Second, "an InvalidSpec event", func() (bool, string) {
				_ = e.Client.List(ctx, &events, client.InNamespace(ns))
				for _, ev := range events.Items {
					if ev.Reason == string(v1alpha1.InvalidSpec) && strings.Contains(ev.Message, tc.want) {
						return true, ""
					}
				}
				return false, fmt.Sprintf("%d events", len(events.Items))
			})
			if tc.fix == "" {
				return
			}
			if out, err := e.KubectlStdin(ctx, []byte(tc.fix), "apply", "-n", ns, "-f", "-"); err != nil {
				t.Fatalf("apply the fix: %v\n%s", err, out)
			}
			framework.Eventually(t, 60*time.Second, "Healthy once the object exists", func() (bool, string) {
				_ = e.Client.Get(ctx, framework.Key(ns, "web"), &ro)
				return ro.Status.Phase == v1alpha1.RolloutPhaseHealthy, fmt.Sprintf("%s %q", ro.Status.Phase, ro.Status.Message)
			})
		})
	}
}
