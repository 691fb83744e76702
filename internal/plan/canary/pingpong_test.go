package canary

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/plan/roles"
)

func pingPongRollout(i int32) *v1alpha1.Rollout {
	ro := midUpdate(i)
	ro.Spec.Strategy.Canary.PingPong = &v1alpha1.PingPongSpec{PingService: "ping", PongService: "pong"}
	return ro
}

// TestPingPongSwapsAtPromotion: the first deploy makes ping stable, each
// later promotion swaps; a pass that promotes nothing leaves it.
func TestPingPongSwapsAtPromotion(t *testing.T) {
	first := pingPongRollout(0)
	first.Status = v1alpha1.RolloutStatus{}
	if p := Advance(first, obs(true), t0); p.Status.Canary.StablePingPong != v1alpha1.PPPing {
		t.Errorf("first deploy: %q, want ping", p.Status.Canary.StablePingPong)
	}
	for _, tc := range []struct{ before, after v1alpha1.PingPongType }{{v1alpha1.PPPing, v1alpha1.PPPong}, {v1alpha1.PPPong, v1alpha1.PPPing}} {
		ro := pingPongRollout(4)
		ro.Status.Canary.StablePingPong = tc.before
		p := Advance(ro, obs(true), t0)
		if p.Status.StableRS != "new" || p.Status.Canary.StablePingPong != tc.after {
			t.Errorf("promotion from %q: stable %q, stablePingPong %q, want %q", tc.before, p.Status.StableRS, p.Status.Canary.StablePingPong, tc.after)
		}
	}
	ro := pingPongRollout(1)
	ro.Status.Canary.StablePingPong = v1alpha1.PPPing
	if p := Advance(ro, obs(true), t0); p.Status.Canary.StablePingPong != v1alpha1.PPPing {
		t.Errorf("no promotion, yet %q", p.Status.Canary.StablePingPong)
	}
}

// TestPingPongServiceRefs: during an update the canary-role Service is
// pointed at the new ReplicaSet; the stable-role one is left alone; on a
// first deploy or once promoted neither is touched.
func TestPingPongServiceRefs(t *testing.T) {
	set := func(hash string) *appsv1.ReplicaSet {
		return &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "web-" + hash, Labels: map[string]string{v1alpha1.DefaultRolloutUniqueLabelKey: hash}}}
	}
	rs := roles.Roles{New: set("new"), Stable: set("old")}
	for _, tc := range []struct {
		name       string
		status     v1alpha1.PingPongType
		stableRS   string
		want, path string
	}{
		{"pong stable: ping follows the canary", v1alpha1.PPPong, "old", "ping", "spec.strategy.canary.pingPong.pingService"},
		{"ping stable: pong follows the canary", v1alpha1.PPPing, "old", "pong", "spec.strategy.canary.pingPong.pongService"},
		{"promoted", v1alpha1.PPPing, "new", "", ""},
		{"first deploy", "", "", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ro := pingPongRollout(0)
			ro.Status.StableRS, ro.Status.Canary.StablePingPong = tc.stableRS, tc.status
			refs := serviceRefs(ro, rs)
			var got, path string
			for _, r := range refs {
				if r.Name == "ping" || r.Name == "pong" {
					got, path = r.Name, r.Field
					if r.Target != rs.New {
						t.Errorf("%s targets %v", r.Name, r.Target)
					}
				}
			}
			if got != tc.want || path != tc.path {
				t.Errorf("ref %q at %q, want %q at %q", got, path, tc.want, tc.path)
			}
		})
	}
}
