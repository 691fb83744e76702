package canary

import (
	"testing"
	"time"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/plan/pass"
)

// TestSetWeightWaitsForVerifiedWeight: with weights read back from the
// data plane, a setWeight step completes only once the reading shows the
// step's own weight; it asks to be looked at again meanwhile. Without a
// reading the replicas alone decide, as before.
func TestSetWeightWaitsForVerifiedWeight(t *testing.T) {
	for _, tc := range []struct {
		name    string
		check   *pass.WeightCheck
		done    bool
		requeue time.Duration
	}{
		// Done, the rollout moves on to the 30 s pause after the step.
		{"no verification", nil, true, 30 * time.Second},
		{"verified at the step's weight", &pass.WeightCheck{Weight: 60, Verified: true}, true, 30 * time.Second},
		{"load balancer still at the previous weight", &pass.WeightCheck{Weight: 60, Waiting: "canary: weight 20, want 60"}, false, VerifyRetry},
		{"reading of the previous weight", &pass.WeightCheck{Weight: 20, Verified: true}, false, VerifyRetry},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := obs(true)
			o.Weights = tc.check
			p := Advance(midUpdate(2), o, t0)
			if done := *p.Status.CurrentStepIndex > 2; done != tc.done || p.RequeueAfter != tc.requeue {
				t.Fatalf("index %d requeue %v; want done %v requeue %v", *p.Status.CurrentStepIndex, p.RequeueAfter, tc.done, tc.requeue)
			}
		})
	}
	// Replicas not ready: the step waits for them, not for the weight.
	o := obs(false)
	o.Weights = &pass.WeightCheck{Weight: 20, Verified: true}
	if p := Advance(midUpdate(2), o, t0); *p.Status.CurrentStepIndex != 2 || p.RequeueAfter != 0 {
		t.Fatalf("index %d requeue %v", *p.Status.CurrentStepIndex, p.RequeueAfter)
	}
}

// TestPromotionWaitsForVerifiedFullWeight: past the last step the new
// version becomes stable only once the data plane has 100% on it.
func TestPromotionWaitsForVerifiedFullWeight(t *testing.T) {
	for _, tc := range []struct {
		name     string
		check    *pass.WeightCheck
		promoted bool
	}{
		{"no verification", nil, true},
		{"verified at 100", &pass.WeightCheck{Weight: 100, Verified: true}, true},
		{"still at 60", &pass.WeightCheck{Weight: 100, Waiting: "canary: weight 60, want 100"}, false},
		// The router not yet asked for the full weight (the canary still
		// scaling up): the promotion waits for it too.
		{"full weight not set yet", &pass.WeightCheck{Weight: 30, Waiting: "the full weight is not set yet"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := obs(true)
			o.Weights = tc.check
			p := Advance(midUpdate(4), o, t0)
			if promoted := p.Status.StableRS == "new"; promoted != tc.promoted {
				t.Fatalf("stable %q, want promoted %v", p.Status.StableRS, tc.promoted)
			}
			if !tc.promoted && p.RequeueAfter != VerifyRetry {
				t.Errorf("requeue %v while waiting", p.RequeueAfter)
			}
		})
	}
}

func TestRecordVerification(t *testing.T) {
	lb := v1alpha1.ALBStatus{Ingress: "a", LoadBalancer: v1alpha1.AwsResourceRef{Name: "lb"}}
	for _, tc := range []struct {
		name  string
		check *pass.WeightCheck
		want  *bool
	}{
		{"none", nil, nil},
		{"verified", &pass.WeightCheck{Weight: 30, Verified: true, ALBs: []v1alpha1.ALBStatus{lb}}, new(true)},
		{"the weight moved since", &pass.WeightCheck{Weight: 10, Verified: true, ALBs: []v1alpha1.ALBStatus{lb}}, new(false)},
		{"not verified", &pass.WeightCheck{Weight: 30, ALBs: []v1alpha1.ALBStatus{lb}}, new(false)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := v1alpha1.RolloutStatus{}
			st.Canary.Weights = &v1alpha1.TrafficWeights{Canary: v1alpha1.WeightDestination{Weight: 30}}
			recordVerification(&st, tc.check)
			got := st.Canary.Weights.Verified
			if (got == nil) != (tc.want == nil) || (got != nil && *got != *tc.want) {
				t.Fatalf("verified %v, want %v", got, tc.want)
			}
			if tc.check != nil && (st.ALB == nil || *st.ALB != lb || len(st.ALBs) != 1) {
				t.Errorf("alb %+v albs %+v", st.ALB, st.ALBs)
			}
		})
	}
}
