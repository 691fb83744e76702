package rollout

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// withAntiAffinity adds, to a new ReplicaSet's pod spec, the anti-affinity
// the strategy's antiAffinity asks for: keep the new pods off the nodes that
// run the stable version's pods, so a bad node does not hide a bad version
// (preferred with its weight, or required). Nothing is added without a
// stable ReplicaSet to avoid. The user's own affinity rules are kept.
func withAntiAffinity(spec *corev1.PodSpec, aa *v1alpha1.AntiAffinity, stableHash, namespace string) {
	if aa == nil || stableHash == "" {
		return
	}
	term := corev1.PodAffinityTerm{
		LabelSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{
			Key: v1alpha1.DefaultRolloutUniqueLabelKey, Operator: metav1.LabelSelectorOpIn, Values: []string{stableHash},
		}}},
		Namespaces:  []string{namespace},
		TopologyKey: corev1.LabelHostname,
	}
	if spec.Affinity == nil {
		spec.Affinity = &corev1.Affinity{}
	}
	if spec.Affinity.PodAntiAffinity == nil {
		spec.Affinity.PodAntiAffinity = &corev1.PodAntiAffinity{}
	}
	paa := spec.Affinity.PodAntiAffinity
	if p := aa.PreferredDuringSchedulingIgnoredDuringExecution; p != nil {
		paa.PreferredDuringSchedulingIgnoredDuringExecution = append(paa.PreferredDuringSchedulingIgnoredDuringExecution,
			corev1.WeightedPodAffinityTerm{Weight: p.Weight, PodAffinityTerm: term})
		return
	}
	paa.RequiredDuringSchedulingIgnoredDuringExecution = append(paa.RequiredDuringSchedulingIgnoredDuringExecution, term)
}

// withoutInjectedAntiAffinity removes the rules withAntiAffinity added (any
// term selecting only on the rollouts hash label), reporting whether it
// changed spec. A ReplicaSet that became stable no longer has a version to
// avoid.
func withoutInjectedAntiAffinity(spec *corev1.PodSpec) bool {
	if spec.Affinity == nil || spec.Affinity.PodAntiAffinity == nil {
		return false
	}
	injected := func(t corev1.PodAffinityTerm) bool {
		s := t.LabelSelector
		return s != nil && len(s.MatchLabels) == 0 && len(s.MatchExpressions) == 1 &&
			s.MatchExpressions[0].Key == v1alpha1.DefaultRolloutUniqueLabelKey && t.TopologyKey == corev1.LabelHostname
	}
	paa := spec.Affinity.PodAntiAffinity
	changed := false
	var pref []corev1.WeightedPodAffinityTerm
	for _, w := range paa.PreferredDuringSchedulingIgnoredDuringExecution {
		if injected(w.PodAffinityTerm) {
			changed = true
			continue
		}
		pref = append(pref, w)
	}
	var req []corev1.PodAffinityTerm
	for _, t := range paa.RequiredDuringSchedulingIgnoredDuringExecution {
		if injected(t) {
			changed = true
			continue
		}
		req = append(req, t)
	}
	if !changed {
		return false
	}
	paa.PreferredDuringSchedulingIgnoredDuringExecution, paa.RequiredDuringSchedulingIgnoredDuringExecution = pref, req
	if len(pref) == 0 && len(req) == 0 {
		spec.Affinity.PodAntiAffinity = nil
	}
	if *spec.Affinity == (corev1.Affinity{}) {
		spec.Affinity = nil
	}
	return true
}

// dropInjectedAntiAffinity patches a stable ReplicaSet's template free of the
// anti-affinity it was given as a canary.
func (r *Reconciler) dropInjectedAntiAffinity(ctx context.Context, rs *appsv1.ReplicaSet) error {
	orig := rs.DeepCopy()
	if !withoutInjectedAntiAffinity(&rs.Spec.Template.Spec) {
		return nil
	}
	if err := r.Client.Patch(ctx, rs, client.MergeFrom(orig)); err != nil {
		return fmt.Errorf("remove canary anti-affinity from stable ReplicaSet %s: %w", rs.Name, err)
	}
	return nil
}
