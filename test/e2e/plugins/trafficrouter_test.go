package plugins

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
	"github.com/aviary-rollouts/aviary/test/plugintest"
)

// routerManifest is a canary routed by the traffic router plugin NAME
// alone, with a header and a mirror route, held at each step (pause: {})
// so the test can see what the plugin was told there.
const routerManifest = `apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: web
spec:
  replicas: 4
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers: [{name: web, image: "argoproj/rollouts-demo:blue"}]
  strategy:
    canary:
      canaryService: web-canary
      stableService: web-stable
      trafficRouting:
        managedRoutes:
        - name: beta-users
        - name: mirror-all
        plugins:
          NAME: CONFIG
      steps:
      - setWeight: 25
      - pause: {}
      - setHeaderRoute:
          name: beta-users
          match:
          - headerName: x-beta
            headerValue: {exact: "yes"}
      - setMirrorRoute:
          name: mirror-all
          percentage: 30
          match:
          - method: {exact: GET}
      - setWeight: 50
      - pause: {}
---
apiVersion: v1
kind: Service
metadata: {name: web-stable}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: web-canary}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
`

// routerCall is a line of what the router plugin recorded.
type routerCall struct {
	Method      string                       `json:"method"`
	Rollout     string                       `json:"rollout"`
	Weight      *int32                       `json:"weight,omitempty"`
	CanaryHash  string                       `json:"canaryHash,omitempty"`
	StableHash  string                       `json:"stableHash,omitempty"`
	HeaderRoute *v1alpha1.SetHeaderRoute     `json:"headerRoute,omitempty"`
	MirrorRoute *v1alpha1.SetMirrorRoute     `json:"mirrorRoute,omitempty"`
	Additional  []v1alpha1.WeightDestination `json:"additional,omitempty"`
}

// weights are the distinct weights the plugin was given, in order.
func weights(cs []routerCall) []int32 {
	var out []int32
	for _, c := range cs {
		if c.Method == "SetWeight" && (len(out) == 0 || out[len(out)-1] != *c.Weight) {
			out = append(out, *c.Weight)
		}
	}
	return out
}

// stepWeights reports whether w is an update's weights through the
// router manifest's steps: 0 while the canary has no pods, 25, 50, on up
// as the canary takes every pod, and 0 once it is the stable.
func stepWeights(w []int32) bool {
	if len(w) > 0 && w[0] == 0 {
		w = w[1:]
	}
	if len(w) < 3 || w[0] != 25 || w[1] != 50 || w[len(w)-1] != 0 {
		return false
	}
	for i := 2; i < len(w)-1; i++ {
		if w[i] <= w[i-1] || w[i] > 100 {
			return false
		}
	}
	return true
}

// lastWeight is the last weight the plugin was given.
func lastWeight(cs []routerCall) int32 {
	w := weights(cs)
	if len(w) == 0 {
		return -1
	}
	return w[len(w)-1]
}

// A canary driven end to end through a traffic router plugin: at every
// step the plugin has been given the step's weight, the hashes, the header
// and mirror routes, and the update completes with the weight back on the
// (new) stable and the managed routes removed. The Gateway API's plugin
// name routes through the plugin's binary once argo-rollouts-config lists
// it (no HTTPRoute exists: the built-in router would stop on it).
func TestTrafficRouterPlugin(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ name, config string }{
		{"aviary-test/router", `{}`},
		{"argoproj-labs/gatewayAPI", `{"httpRoute": "no-such-route"}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ns, record, _ := setup(t, "trafficRouterPlugins", "trafficrouter", c.name, "--name", c.name)
			apply(t, ns, strings.NewReplacer("NAME", c.name, "CONFIG", c.config).Replace(routerManifest))
			waitHealthy(t, ns)
			first := getRollout(t, ns).Status.StableRS
			framework.SetRolloutImage(t, ns, "web", "argoproj/rollouts-demo:green")

			// held reports the rollout held at step (a pause) with the
			// plugin told weight last, and status.canary.weights saying so.
			held := func(step, weight int32) {
				t.Helper()
				framework.Eventually(t, 2*time.Minute, fmt.Sprintf("paused at step %d with weight %d", step, weight), func() (bool, string) {
					ro := getRollout(t, ns)
					cs := plugintest.Calls[routerCall](t, record)
					ok := ro.Status.CurrentStepIndex != nil && *ro.Status.CurrentStepIndex == step && ro.Status.Phase == v1alpha1.RolloutPhasePaused &&
						lastWeight(cs) == weight && ro.Status.Canary.Weights != nil && ro.Status.Canary.Weights.Canary.Weight == weight
					return ok, fmt.Sprintf("%s; plugin weights %v", describe(ro), weights(cs))
				})
			}
			held(1, 25)
			ro := getRollout(t, ns)
			canary := ro.Status.CurrentPodHash
			cs := plugintest.Calls[routerCall](t, record)
			last := cs[len(cs)-1]
			if last.Rollout != ns+"/web" {
				t.Errorf("the plugin was told of rollout %q", last.Rollout)
			}
			hashed := false
			for _, c := range cs {
				hashed = hashed || (c.Method == "UpdateHash" && c.CanaryHash == canary && c.StableHash == first)
			}
			if !hashed {
				t.Errorf("the plugin was never told canary %s, stable %s: %+v", canary, first, cs)
			}
			framework.PatchRolloutStatus(t, ns, "web", `{"status":{"pauseConditions":null}}`)
			held(5, 50)
			var header, mirror bool
			for _, c := range plugintest.Calls[routerCall](t, record) {
				header = header || (c.Method == "SetHeaderRoute" && reflect.DeepEqual(c.HeaderRoute, &v1alpha1.SetHeaderRoute{Name: "beta-users",
					Match: []v1alpha1.HeaderRoutingMatch{{HeaderName: "x-beta", HeaderValue: &v1alpha1.StringMatch{Exact: "yes"}}}}))
				mirror = mirror || (c.Method == "SetMirrorRoute" && c.MirrorRoute != nil && c.MirrorRoute.Name == "mirror-all" &&
					c.MirrorRoute.Percentage != nil && *c.MirrorRoute.Percentage == 30 && c.MirrorRoute.Match[0].Method.Exact == "GET")
			}
			if !header || !mirror {
				t.Errorf("header route told %v, mirror route told %v", header, mirror)
			}
			framework.PatchRolloutStatus(t, ns, "web", `{"status":{"pauseConditions":null}}`)
			ro = waitCompleted(t, ns, 2*time.Minute)
			framework.Eventually(t, time.Minute, "the weight back on the new stable", func() (bool, string) {
				cs := plugintest.Calls[routerCall](t, record)
				return lastWeight(cs) == 0 && cs[len(cs)-1].Method != "", fmt.Sprintf("plugin weights %v", weights(cs))
			})
			cs = plugintest.Calls[routerCall](t, record)
			// From the update on, the weights went (0 until the canary had
			// pods) 25, 50, up with the canary's pods as it took every
			// pod, then back to 0 once the new version was stable.
			var since []routerCall
			for i, c := range cs {
				if c.Method == "UpdateHash" && c.CanaryHash == canary {
					since = cs[i:]
					break
				}
			}
			if got := weights(since); !stepWeights(got) {
				t.Errorf("the plugin was given weights %v since the update, want [0] 25 50 [up to 100] 0", got)
			}
			removed := false
			for _, c := range since {
				removed = removed || c.Method == "RemoveManagedRoutes"
			}
			if !removed {
				t.Error("the managed routes were never removed")
			}
			if ro.Status.Canary.Weights == nil || ro.Status.Canary.Weights.Canary.Weight != 0 || ro.Status.Canary.Weights.Stable.PodTemplateHash != canary {
				t.Errorf("status.canary.weights %+v", ro.Status.Canary.Weights)
			}
		})
	}
}

// A router plugin whose binary does not match its sha256 is refused: the
// controller does not start, says which plugin and why, and the binary
// never runs (it would write its marker as it starts).
func TestTrafficRouterPluginChecksumRefused(t *testing.T) {
	t.Parallel()
	bin := plugintest.Build(t, "trafficrouter")
	ns := framework.Namespace(t)
	marker := filepath.Join(t.TempDir(), "ran")
	wrong := strings.Repeat("0f", 32)
	cm := fmt.Sprintf(`apiVersion: v1
kind: ConfigMap
metadata: {name: argo-rollouts-config}
data:
  trafficRouterPlugins: |
%s`, indent(plugintest.Item("aviary-test/router", "location: file://"+bin, "sha256: "+wrong, "args: [--marker, "+marker+"]"), "    "))
	apply(t, ns, cm)
	ctrl := start(t, ns)
	framework.Eventually(t, time.Minute, "the controller to exit", func() (bool, string) {
		return ctrl.Exited(), ctrl.Output()
	})
	want := fmt.Sprintf(`aviary-controller: the controller does not start without the plugins ConfigMap %s/argo-rollouts-config lists: `+
		`TrafficRouter plugin "aviary-test/router" from file://%s: sha256 mismatch: the binary's is %s, the ConfigMap's sha256 is %s; refusing to run it (check the location and the checksum)`,
		ns, bin, plugintest.Sum(t, bin), wrong)
	if code, out := ctrl.ExitCode(), ctrl.Output(); code != 1 || !strings.Contains(out, want) {
		t.Errorf("exit code %d, output:\n%s\nwant exit code 1 and\n%s", code, out, want)
	}
	if _, err := os.Stat(marker); !os.IsNotExist(err) {
		t.Errorf("the refused plugin ran: %v", err)
	}
}

func indent(s, prefix string) string {
	lines := strings.SplitAfter(s, "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = prefix + l
		}
	}
	return strings.Join(lines, "")
}
