package rollout

import (
	"context"
	"fmt"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/plan/pass"
	"github.com/aviary-rollouts/aviary/internal/traffic/alb"
)

// verifyWeights reads an ALB canary's weights back from AWS while an
// update is under way, for the plan to hold a setWeight step (and the
// promotion at the end) until the load balancer has the weights the
// status records: nil when verification is off or nothing is to verify.
// What it finds is told as events: Argo Rollouts' TargetGroupUnverified
// with what differs, TargetGroupVerified once a weight is reached, and
// WeightVerifyError when AWS could not be read (the step then waits too).
func (r *Reconciler) verifyWeights(ctx context.Context, ro *v1alpha1.Rollout) *pass.WeightCheck {
	c := ro.Spec.Strategy.Canary
	w := ro.Status.Canary.Weights
	if r.ALBWeights == nil || c == nil || c.TrafficRouting == nil || c.TrafficRouting.ALB == nil || w == nil ||
		ro.Status.StableRS == "" || ro.Status.StableRS == ro.Status.CurrentPodHash || ro.Status.Abort {
		return nil
	}
	// As Argo Rollouts, AWS is asked only where the answer decides
	// something: at a setWeight step, and at the end before promotion.
	if idx := ro.Status.CurrentStepIndex; idx != nil && int(*idx) < len(c.Steps) && c.Steps[*idx].SetWeight == nil {
		return nil
	}
	check := &pass.WeightCheck{Weight: w.Canary.Weight, Additional: w.Additional, Verified: true}
	var waiting []string
	for _, name := range alb.Ingresses(ro) {
		var ing networkingv1.Ingress
		if err := r.Client.Get(ctx, types.NamespacedName{Namespace: ro.Namespace, Name: name}, &ing); err != nil {
			check.Verified = false
			waiting = append(waiting, fmt.Sprintf("read Ingress %s: %v", name, err))
			continue
		}
		v, err := r.ALBWeights.Verify(ctx, ro, &ing, w.Canary.Weight, w.Additional...)
		check.ALBs = append(check.ALBs, v.Status)
		if err != nil {
			check.Verified = false
			msg := fmt.Sprintf("Failed to verify weight: %v", err)
			r.event(ro, true, alb.ReasonVerifyError, msg)
			waiting = append(waiting, msg)
			continue
		}
		if !v.Verified {
			check.Verified = false
			waiting = append(waiting, v.Waiting)
		}
	}
	check.Waiting = strings.Join(waiting, "; ")
	switch {
	case !check.Verified:
		r.event(ro, true, alb.ReasonUnverified, fmt.Sprintf("canary weight %d not yet verified: %s", w.Canary.Weight, check.Waiting))
	case w.Verified == nil || !*w.Verified:
		r.event(ro, false, alb.ReasonVerified, fmt.Sprintf("canary weight %d verified on the load balancer of every Ingress", w.Canary.Weight))
	}
	return check
}
