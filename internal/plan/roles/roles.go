// Package roles sorts a Rollout's ReplicaSets by what they are to it — the
// new one (the current template's), the stable one, the others — and
// decides what follows from that alone: the current template's hash (Argo
// Rollouts', a legacy one, or an undo's copy), the new ReplicaSet as it is
// created, the anti-affinity a canary is given and loses, the role metadata
// each ReplicaSet carries, and whether the new one is a rollback. It never
// talks to the API server.
package roles

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"slices"
	"strconv"
	"time"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/plan/ephemeral"
	"github.com/aviary-rollouts/aviary/internal/plan/rules"
	"github.com/aviary-rollouts/aviary/internal/podhash"
	"k8s.io/apimachinery/pkg/api/equality"
)

// Roles are a Rollout's ReplicaSets sorted by what they are to it.
type Roles struct {
	New    *appsv1.ReplicaSet
	Stable *appsv1.ReplicaSet
	Others []*appsv1.ReplicaSet
}

func Classify(rsList []*appsv1.ReplicaSet, newHash, stableHash string) Roles {
	var r Roles
	for _, rs := range rsList {
		h := rs.Labels[v1alpha1.DefaultRolloutUniqueLabelKey]
		switch {
		case h == newHash:
			r.New = rs
			if h == stableHash {
				r.Stable = rs
			}
		case h == stableHash && stableHash != "":
			r.Stable = rs
		default:
			r.Others = append(r.Others, rs)
		}
	}
	return r
}

func Revision(rs *appsv1.ReplicaSet) int64 {
	n, _ := strconv.ParseInt(rs.Annotations[v1alpha1.RevisionAnnotation], 10, 64)
	return n
}

// NewReplicaSet builds the ReplicaSet for the Rollout's current template:
// named <rollout>-<hash>, the hash added to its labels and selector, at 0
// replicas (the caller sets the size), one revision above the newest,
// with its pods' role metadata.
func NewReplicaSet(ro *v1alpha1.Rollout, hash string, revision int64, role *v1alpha1.PodTemplateMetadata) *appsv1.ReplicaSet {
	tmpl := *ro.Spec.Template.DeepCopy()
	tmpl.Labels, tmpl.Annotations = ephemeral.Swap(tmpl.Labels, tmpl.Annotations, nil, role)
	if len(tmpl.Annotations) == 0 {
		tmpl.Annotations = nil
	}
	tmpl.Labels = withLabel(tmpl.Labels, v1alpha1.DefaultRolloutUniqueLabelKey, hash)
	if ro.Status.StableRS != hash {
		WithAntiAffinity(&tmpl.Spec, AntiAffinityOf(ro), ro.Status.StableRS, ro.Namespace)
	}
	sel := ro.Spec.Selector.DeepCopy()
	sel.MatchLabels = withLabel(sel.MatchLabels, v1alpha1.DefaultRolloutUniqueLabelKey, hash)
	annotations := map[string]string{
		v1alpha1.RevisionAnnotation:        strconv.FormatInt(revision, 10),
		v1alpha1.DesiredReplicasAnnotation: strconv.Itoa(int(ro.ReplicasOrDefault())),
	}
	if enc := ephemeral.Encode(role); enc != "" {
		annotations[v1alpha1.EphemeralMetadataAnnotation] = enc
	}
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{
			Name:            podhash.ReplicaSetName(ro.Name, hash),
			Namespace:       ro.Namespace,
			Labels:          tmpl.Labels,
			Annotations:     annotations,
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(ro, v1alpha1.GroupVersion.WithKind("Rollout"))},
		},
		Spec: appsv1.ReplicaSetSpec{
			Replicas:        new(int32(0)),
			MinReadySeconds: ro.Spec.MinReadySeconds,
			Selector:        sel,
			Template:        tmpl,
		},
	}
}

func withLabel(in map[string]string, k, v string) map[string]string {
	out := make(map[string]string, len(in)+1)
	for key, val := range in {
		out[key] = val
	}
	out[k] = v
	return out
}

// AntiAffinityOf is the strategy's antiAffinity, either strategy.
func AntiAffinityOf(ro *v1alpha1.Rollout) *v1alpha1.AntiAffinity {
	if bg := ro.Spec.Strategy.BlueGreen; bg != nil {
		return bg.AntiAffinity
	}
	if c := ro.Spec.Strategy.Canary; c != nil {
		return c.AntiAffinity
	}
	return nil
}

// CurrentHash is the pod-template hash of the Rollout's template: Argo
// Rollouts' hash, or the older Kubernetes-style hash when a ReplicaSet already
// carries that one (created by an old Argo Rollouts), so it is kept rather
// than redeployed.
func CurrentHash(ro *v1alpha1.Rollout, rsList []*appsv1.ReplicaSet) string {
	hash := podhash.PodTemplateHash(&ro.Spec.Template, ro.Status.CollisionCount)
	if len(rsList) == 0 || hasHash(rsList, hash) {
		return hash
	}
	if legacy := podhash.LegacyPodTemplateHash(&ro.Spec.Template, ro.Status.CollisionCount); hasHash(rsList, legacy) {
		return legacy
	}
	if rs := SameTemplate(ro, rsList); rs != nil {
		return rs.Labels[v1alpha1.DefaultRolloutUniqueLabelKey]
	}
	return hash
}

// SameTemplate finds a ReplicaSet whose pod template is the Rollout's,
// though the hashes differ: `kubectl argo rollouts undo` copies a
// ReplicaSet's template back into the Rollout, and that copy carries the
// fields the API server defaulted, so it hashes differently from the
// template the ReplicaSet was made from. Going back to that ReplicaSet
// (and, if it is the stable, skipping the steps) is what the user asked
// for. The newest revision wins if several match.
func SameTemplate(ro *v1alpha1.Rollout, rsList []*appsv1.ReplicaSet) *appsv1.ReplicaSet {
	want := normalTemplate(ro.Spec.Template)
	var found *appsv1.ReplicaSet
	for _, rs := range rsList {
		t := rs.Spec.Template.DeepCopy()
		delete(t.Labels, v1alpha1.DefaultRolloutUniqueLabelKey)
		WithoutInjectedAntiAffinity(&t.Spec)
		stripped := t.DeepCopy()
		stripped.Labels, stripped.Annotations = ephemeral.Swap(t.Labels, t.Annotations, ephemeral.Recorded(rs.Annotations), nil)
		delete(stripped.Labels, v1alpha1.DefaultRolloutUniqueLabelKey)
		if !equality.Semantic.DeepEqual(want, normalTemplate(*t)) && !equality.Semantic.DeepEqual(want, normalTemplate(*stripped)) {
			continue
		}
		if found == nil || Revision(rs) > Revision(found) {
			found = rs
		}
	}
	return found
}

// normalTemplate treats empty and absent label and annotation maps alike.
func normalTemplate(t corev1.PodTemplateSpec) corev1.PodTemplateSpec {
	if len(t.Labels) == 0 {
		t.Labels = nil
	}
	if len(t.Annotations) == 0 {
		t.Annotations = nil
	}
	return t
}

func hasHash(rsList []*appsv1.ReplicaSet, hash string) bool {
	for _, rs := range rsList {
		if rs.Labels[v1alpha1.DefaultRolloutUniqueLabelKey] == hash {
			return true
		}
	}
	return false
}

func ptrVal(p *int32) int32 {
	if p == nil {
		return 1
	}
	return *p
}

func SpecReplicas(rs *appsv1.ReplicaSet) int32 { return ptrVal(rs.Spec.Replicas) }

// WithAntiAffinity adds, to a new ReplicaSet's pod spec, the anti-affinity
// the strategy's antiAffinity asks for: keep the new pods off the nodes that
// run the stable version's pods, so a bad node does not hide a bad version
// (preferred with its weight, or required). Nothing is added without a
// stable ReplicaSet to avoid. The user's own affinity rules are kept.
func WithAntiAffinity(spec *corev1.PodSpec, aa *v1alpha1.AntiAffinity, stableHash, namespace string) {
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

// WithoutInjectedAntiAffinity removes the rules WithAntiAffinity added (any
// term selecting only on the rollouts hash label), reporting whether it
// changed spec. A ReplicaSet that became stable no longer has a version to
// avoid.
func WithoutInjectedAntiAffinity(spec *corev1.PodSpec) bool {
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

// RollbackWithinWindow gathers what rules.WithinRollbackWindow decides on:
// the creation times of the new ReplicaSet (one that exists already: a
// ReplicaSet being created is never a rollback), the stable one and the
// others.
func RollbackWithinWindow(ro *v1alpha1.Rollout, rs Roles) bool {
	if ro.Spec.RollbackWindow == nil || rs.New == nil || rs.Stable == nil || rs.New == rs.Stable || rs.New.CreationTimestamp.IsZero() {
		return false
	}
	var others []time.Time
	for _, o := range rs.Others {
		others = append(others, o.CreationTimestamp.Time)
	}
	return rules.WithinRollbackWindow(ro.Spec.RollbackWindow, rs.New.CreationTimestamp.Time, rs.Stable.CreationTimestamp.Time, others)
}

// Metadata pairs each ReplicaSet with the role metadata it should
// carry: the canary (preview) metadata for the new version beside a
// separate stable, the stable (active) metadata for the stable or only one,
// none for the rest. A blue-green new ReplicaSet takes the active metadata
// once the active Service selects it.
func Metadata(ro *v1alpha1.Rollout, rs Roles) map[*appsv1.ReplicaSet]*v1alpha1.PodTemplateMetadata {
	out := map[*appsv1.ReplicaSet]*v1alpha1.PodTemplateMetadata{}
	separate := rs.Stable != nil && rs.Stable != rs.New
	if rs.New != nil {
		active := ro.Spec.Strategy.BlueGreen != nil && ro.Status.BlueGreen.ActiveSelector == rs.New.Labels[v1alpha1.DefaultRolloutUniqueLabelKey]
		out[rs.New] = ephemeral.ForNew(ro, separate && !active)
	}
	if separate {
		out[rs.Stable] = ephemeral.ForStable(ro)
	}
	for _, o := range rs.Others {
		out[o] = nil
	}
	return out
}

// RollbackTarget reports whether the desired ReplicaSet is older than the
// stable one: the template went back to an earlier revision. One not
// created yet (no creation time) is the newest of all.
func RollbackTarget(rs Roles) bool {
	return rs.New != nil && rs.Stable != nil && rs.New != rs.Stable && !rs.New.CreationTimestamp.IsZero() &&
		rs.New.CreationTimestamp.Before(&rs.Stable.CreationTimestamp)
}

func (r Roles) WithNew(rs *appsv1.ReplicaSet) Roles {
	if r.New == nil {
		r.New = rs
	}
	return r
}

// WithoutNew drops a new ReplicaSet not created yet (it is built with its
// role metadata already).
func (r Roles) WithoutNew(pending *appsv1.ReplicaSet) Roles {
	if pending != nil && r.New == pending {
		r.New = nil
	}
	return r
}

// All lists every ReplicaSet of the Roles once.
func (r Roles) All() []*appsv1.ReplicaSet {
	var out []*appsv1.ReplicaSet
	for _, rs := range append([]*appsv1.ReplicaSet{r.New, r.Stable}, r.Others...) {
		if rs != nil && !slices.Contains(out, rs) {
			out = append(out, rs)
		}
	}
	return out
}
