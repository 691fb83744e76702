package istio

import (
	"encoding/json"
	"fmt"
	"sort"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/traffic"
)

// ApplyHashes pins the destinationRule's subsets in dr to ReplicaSets:
// the canary and stable subsets get the rollouts-pod-template-hash label
// of canaryHash and stableHash (removed when the hash is empty), and each
// additional destination a subset named after its Service with its hash.
// As in Argo Rollouts, the DestinationRule then holds only those subsets,
// so an experiment's subset goes when the experiment does, and it is
// annotated as managed by the Rollout. It changes dr in place and reports
// whether anything changed; on error dr is left as it was, and a canary or
// stable subset dr lacks is a *traffic.SpecError.
func ApplyHashes(dr *unstructured.Unstructured, spec *v1alpha1.IstioDestinationRule, rolloutName, canaryHash, stableHash string, additional []v1alpha1.WeightDestination) (bool, error) {
	if spec == nil {
		return false, nil
	}
	key := dr.GetNamespace() + "/" + dr.GetName()
	before, err := json.Marshal(dr.Object)
	if err != nil {
		return false, fmt.Errorf("encode DestinationRule %s: %w", key, err)
	}
	subsets, _, err := unstructured.NestedSlice(dr.Object, "spec", "subsets")
	if err != nil {
		return false, fmt.Errorf("DestinationRule %s: spec.subsets: %w", key, err)
	}
	for _, want := range []struct{ field, which, name string }{
		{"canarySubsetName", "canary", spec.CanarySubsetName},
		{"stableSubsetName", "stable", spec.StableSubsetName},
	} {
		found := false
		for _, s := range subsets {
			m, _ := s.(map[string]any)
			found = found || (want.name != "" && m["name"] == want.name)
		}
		if !found {
			return false, &traffic.SpecError{Field: fieldIstio + ".destinationRule." + want.field,
				Msg: fmt.Sprintf("DestinationRule %s has no subset named %q: add the %s subset to its spec.subsets, or correct the name", key, want.name, want.which)}
		}
	}

	byService := map[string]v1alpha1.WeightDestination{}
	for _, a := range additional {
		byService[a.ServiceName] = a
	}
	kept := make([]any, 0, len(subsets)+len(additional))
	for i, s := range subsets {
		m, ok := s.(map[string]any)
		if !ok {
			return false, fmt.Errorf("DestinationRule %s: spec.subsets[%d] is not an object", key, i)
		}
		name, _ := m["name"].(string)
		hash := ""
		switch a, isAdditional := byService[name]; {
		case name == spec.CanarySubsetName:
			hash = canaryHash
		case name == spec.StableSubsetName:
			hash = stableHash
		case isAdditional:
			hash = a.PodTemplateHash
			delete(byService, name)
		default:
			continue
		}
		if err := setHashLabel(m, hash); err != nil {
			return false, fmt.Errorf("DestinationRule %s: subset %q: %w", key, name, err)
		}
		kept = append(kept, m)
	}
	names := make([]string, 0, len(byService))
	for name, a := range byService {
		// A subset without a hash would select every pod of the host.
		if a.PodTemplateHash != "" {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		kept = append(kept, map[string]any{
			"name":   name,
			"labels": map[string]any{v1alpha1.DefaultRolloutUniqueLabelKey: byService[name].PodTemplateHash},
		})
	}
	if err := unstructured.SetNestedSlice(dr.Object, kept, "spec", "subsets"); err != nil {
		return false, fmt.Errorf("DestinationRule %s: set spec.subsets: %w", key, err)
	}
	ann := dr.GetAnnotations()
	if ann == nil {
		ann = map[string]string{}
	}
	ann[v1alpha1.ManagedByRolloutsKey] = rolloutName
	dr.SetAnnotations(ann)

	after, err := json.Marshal(dr.Object)
	if err != nil {
		return false, fmt.Errorf("encode DestinationRule %s: %w", key, err)
	}
	return string(before) != string(after), nil
}

// setHashLabel sets or, for an empty hash, removes a subset's pod-template
// hash label.
func setHashLabel(subset map[string]any, hash string) error {
	v, present := subset["labels"]
	if !present || v == nil {
		if hash != "" {
			subset["labels"] = map[string]any{v1alpha1.DefaultRolloutUniqueLabelKey: hash}
		}
		return nil
	}
	labels, ok := v.(map[string]any)
	if !ok {
		return fmt.Errorf("labels is not an object")
	}
	if hash == "" {
		delete(labels, v1alpha1.DefaultRolloutUniqueLabelKey)
	} else {
		labels[v1alpha1.DefaultRolloutUniqueLabelKey] = hash
	}
	return nil
}

// DelayHashUpdate reports whether pinning the DestinationRule subsets to
// new hashes must wait, and for which ReplicaSet. Without canary and
// stable Services the subsets alone choose the pods, so moving a subset to
// a ReplicaSet whose pods are not all available would send it requests
// those pods cannot serve. Only ReplicaSets that are scaled up and carry
// the canary or stable hash count; when the update is aborted or being
// rolled back to stable with dynamicStableScale, the canary is going away
// and is not waited for. sets are the Rollout's ReplicaSets.
func DelayHashUpdate(ro *v1alpha1.Rollout, sets []*appsv1.ReplicaSet, canaryHash, stableHash string) (bool, string) {
	c := ro.Spec.Strategy.Canary
	if c == nil || c.CanaryService != "" || c.StableService != "" {
		return false, ""
	}
	leaving := ro.Status.Abort || rollingBackToStable(ro, sets, stableHash)
	for _, rs := range sets {
		if rs == nil || replicasOf(rs.Spec.Replicas) == 0 {
			continue
		}
		hash := rs.Labels[v1alpha1.DefaultRolloutUniqueLabelKey]
		if hash == "" || (hash != canaryHash && hash != stableHash) || (leaving && hash == canaryHash) {
			continue
		}
		if !fullyAvailable(rs) {
			return true, rs.Name
		}
	}
	return false, ""
}

// rollingBackToStable reports a dynamicStableScale update that was
// interrupted by going back to the stable template: the Rollout is fully
// promoted again, traffic still names another canary, and the stable
// ReplicaSet has not scaled back up yet.
func rollingBackToStable(ro *v1alpha1.Rollout, sets []*appsv1.ReplicaSet, stableHash string) bool {
	c := ro.Spec.Strategy.Canary
	if c == nil || c.TrafficRouting == nil || !c.DynamicStableScale || ro.Status.StableRS != ro.Status.CurrentPodHash || ro.Status.Canary.Weights == nil {
		return false
	}
	for _, rs := range sets {
		if rs == nil || rs.Labels[v1alpha1.DefaultRolloutUniqueLabelKey] != stableHash {
			continue
		}
		return ro.Status.Canary.Weights.Canary.PodTemplateHash != stableHash &&
			rs.Status.AvailableReplicas < replicasOf(ro.Spec.Replicas)
	}
	return false
}

// fullyAvailable: scaled up and every desired pod available.
func fullyAvailable(rs *appsv1.ReplicaSet) bool {
	want := replicasOf(rs.Spec.Replicas)
	return want != 0 && rs.Status.AvailableReplicas != 0 && rs.Status.AvailableReplicas >= want
}

// replicasOf is a replica count, nil meaning the API default of 1.
func replicasOf(r *int32) int32 {
	if r == nil {
		return 1
	}
	return *r
}
