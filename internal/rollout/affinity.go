package rollout

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

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
