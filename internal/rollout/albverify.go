package rollout

import (
	"context"
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

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
	if r.ALBWeights == nil || !pass.VerifiesWeight(ro) {
		return nil
	}
	w := ro.Status.Canary.Weights
	if idx := ro.Status.CurrentStepIndex; (idx == nil || int(*idx) >= len(ro.Spec.Strategy.Canary.Steps)) && w.Canary.Weight != ro.MaxTrafficWeight() {
		// Past the last step the full weight is what must be verified;
		// until the router has been asked for it there is nothing to ask
		// AWS, and the promotion waits.
		return &pass.WeightCheck{Weight: w.Canary.Weight, Additional: w.Additional, Waiting: "the full weight is not set yet"}
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

// verifyTargets checks, with --aws-verify-target-group, that the load
// balancer has registered the pods of the Service now carrying the new
// version, through the TargetGroupBindings that feed its target groups
// (DescribeTargetHealth), where Argo Rollouts checks it: for an ALB canary
// once promoted, before old pods are scaled down; for blue-green once the
// active Service is switched, before post-promotion analysis and
// promotion. nil when nothing is checked (off, not at such a moment, or no
// TargetGroupBinding of ip targets names the Service).
func (r *Reconciler) verifyTargets(ctx context.Context, ro *v1alpha1.Rollout, sets []*appsv1.ReplicaSet, svcs map[string]*corev1.Service) *pass.TargetCheck {
	if r.ALBWeights == nil {
		return nil
	}
	name := pass.TargetsToCheck(ro, sets)
	if name == "" {
		return nil
	}
	svc := svcs[name]
	if svc == nil || ro.Status.CurrentPodHash == "" || svc.Spec.Selector[v1alpha1.DefaultRolloutUniqueLabelKey] != ro.Status.CurrentPodHash {
		return nil // not switched yet
	}
	bindings, err := r.bindingsOf(ctx, svc)
	if err != nil {
		return r.targetsError(ro, svc.Name, "", err)
	}
	if len(bindings) == 0 {
		return nil
	}
	var eps discoveryv1.EndpointSliceList
	if err := r.APIReader.List(ctx, &eps, client.InNamespace(svc.Namespace), client.MatchingLabels{discoveryv1.LabelServiceName: svc.Name}); err != nil {
		return r.targetsError(ro, svc.Name, "", fmt.Errorf("list the endpoint slices of Service %s: %w", svc.Name, err))
	}
	var check *pass.TargetCheck
	for _, b := range bindings {
		reg, err := r.ALBWeights.Registered(ctx, b, svc, eps.Items)
		if err != nil {
			return r.targetsError(ro, svc.Name, b.TargetGroupARN, err)
		}
		if !reg.Applies {
			continue
		}
		if check == nil {
			check = &pass.TargetCheck{Verified: true}
		}
		if reg.Registered < reg.Total {
			msg := fmt.Sprintf("Service %s (TargetGroup %s) not verified: %d/%d endpoints registered", svc.Name, b.TargetGroupARN, reg.Registered, reg.Total)
			r.event(ro, true, alb.ReasonUnverified, msg+" (missing "+reg.Unregistered+")")
			check.Verified, check.Waiting = false, msg
			return check
		}
		r.event(ro, false, alb.ReasonVerified, fmt.Sprintf("Service %s (TargetGroup %s) verified: %d endpoints registered", svc.Name, b.TargetGroupARN, reg.Registered))
	}
	return check
}

// bindingsOf lists the namespace's TargetGroupBindings that name svc and
// one of its ports, read live (they are read only at these moments, so
// they are not cached). A cluster without the CRD has none.
func (r *Reconciler) bindingsOf(ctx context.Context, svc *corev1.Service) ([]alb.Binding, error) {
	version := r.TargetGroupBindingAPIVersion
	if version == "" {
		version = alb.DefaultBindingAPIVersion
	}
	list := &unstructured.UnstructuredList{}
	list.SetAPIVersion(version)
	list.SetKind("TargetGroupBindingList")
	if err := r.APIReader.List(ctx, list, client.InNamespace(svc.Namespace)); err != nil {
		if meta.IsNoMatchError(err) || apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("list TargetGroupBindings (%s) of namespace %s: %w", version, svc.Namespace, err)
	}
	var out []alb.Binding
	for i := range list.Items {
		if b := alb.BindingOf(&list.Items[i]); b.Binds(svc) {
			out = append(out, b)
		}
	}
	return out, nil
}

// targetsError tells a failed check as Argo Rollouts' TargetGroupVerifyError
// and leaves the targets unverified.
func (r *Reconciler) targetsError(ro *v1alpha1.Rollout, svc, arn string, err error) *pass.TargetCheck {
	if arn == "" {
		arn = "unknown"
	}
	msg := fmt.Sprintf("Failed to verify Service %s (TargetGroup %s): %v", svc, arn, err)
	r.event(ro, true, alb.ReasonTargetsError, msg)
	return &pass.TargetCheck{Waiting: msg}
}
