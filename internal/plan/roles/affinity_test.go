package roles

import (
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

func TestWithAntiAffinity(t *testing.T) {
	var none corev1.PodSpec
	WithAntiAffinity(&none, &v1alpha1.AntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &v1alpha1.RequiredDuringSchedulingIgnoredDuringExecution{}}, "", "ns")
	if none.Affinity != nil {
		t.Error("no stable ReplicaSet: nothing to avoid")
	}

	var required corev1.PodSpec
	WithAntiAffinity(&required, &v1alpha1.AntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &v1alpha1.RequiredDuringSchedulingIgnoredDuringExecution{}}, "abc", "shop")
	terms := required.Affinity.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution
	if len(terms) != 1 || terms[0].TopologyKey != "kubernetes.io/hostname" || terms[0].Namespaces[0] != "shop" ||
		terms[0].LabelSelector.MatchExpressions[0].Values[0] != "abc" || terms[0].LabelSelector.MatchExpressions[0].Key != v1alpha1.DefaultRolloutUniqueLabelKey {
		t.Errorf("required rule: %+v", terms)
	}

	user := corev1.WeightedPodAffinityTerm{Weight: 5, PodAffinityTerm: corev1.PodAffinityTerm{TopologyKey: "zone"}}
	preferred := corev1.PodSpec{Affinity: &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []corev1.WeightedPodAffinityTerm{user}}}}
	WithAntiAffinity(&preferred, &v1alpha1.AntiAffinity{PreferredDuringSchedulingIgnoredDuringExecution: &v1alpha1.PreferredDuringSchedulingIgnoredDuringExecution{Weight: 40}}, "abc", "shop")
	got := preferred.Affinity.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution
	if len(got) != 2 || got[0].PodAffinityTerm.TopologyKey != "zone" || got[1].Weight != 40 {
		t.Errorf("preferred rule must be added beside the user's: %+v", got)
	}
}

func TestWithoutInjectedAntiAffinityKeepsUserRules(t *testing.T) {
	user := corev1.WeightedPodAffinityTerm{Weight: 5, PodAffinityTerm: corev1.PodAffinityTerm{TopologyKey: "zone"}}
	spec := corev1.PodSpec{Affinity: &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []corev1.WeightedPodAffinityTerm{user}}}}
	WithAntiAffinity(&spec, &v1alpha1.AntiAffinity{PreferredDuringSchedulingIgnoredDuringExecution: &v1alpha1.PreferredDuringSchedulingIgnoredDuringExecution{Weight: 40}}, "abc", "shop")
	if !WithoutInjectedAntiAffinity(&spec) {
		t.Fatal("the injected rule must be found")
	}
	if got := spec.Affinity.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution; len(got) != 1 || got[0].Weight != 5 {
		t.Errorf("user rule lost or injected rule kept: %+v", got)
	}
	if WithoutInjectedAntiAffinity(&spec) {
		t.Error("second call must report no change")
	}
	var only corev1.PodSpec
	WithAntiAffinity(&only, &v1alpha1.AntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &v1alpha1.RequiredDuringSchedulingIgnoredDuringExecution{}}, "abc", "shop")
	if !WithoutInjectedAntiAffinity(&only) || only.Affinity != nil {
		t.Errorf("with nothing else left, affinity must be nil: %+v", only.Affinity)
	}
}
