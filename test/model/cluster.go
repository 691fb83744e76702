package model

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// tick is the simulated time one round takes when nothing is pending
// sooner: the unit in which pods become ready.
const tick = time.Second

// cluster plays the controllers around the Rollout controller: the
// ReplicaSet controller and kubelet (pods as objects: the restart evicts
// them and role metadata is patched onto them) and the AnalysisRun
// controller (runs stay Running until an analysis-outcome action decides
// them).
type cluster struct {
	w   *World
	rng *rand.Rand
	// readyAt is when each pod not yet ready will be; availableAt when each
	// ready pod will have been ready for minReadySeconds.
	readyAt, availableAt map[string]time.Time
	podSeq               int
}

func newCluster(w *World, seed uint64) *cluster {
	return &cluster{w: w, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		readyAt: map[string]time.Time{}, availableAt: map[string]time.Time{}}
}

// step brings every ReplicaSet's pods one round closer to spec.replicas,
// readies the pods whose time has come and writes the ReplicaSet statuses
// as the ReplicaSet controller does. It reports whether it changed
// anything.
func (c *cluster) step(ctx context.Context) (bool, error) {
	kubelet := c.w.as("kubelet")
	before := c.w.writes
	var rsList appsv1.ReplicaSetList
	if err := c.w.store.List(ctx, &rsList, client.InNamespace(Namespace)); err != nil {
		return false, err
	}
	var podList corev1.PodList
	if err := c.w.store.List(ctx, &podList, client.InNamespace(Namespace)); err != nil {
		return false, err
	}
	byOwner := map[string][]*corev1.Pod{}
	owners := map[string]bool{}
	for i := range rsList.Items {
		owners[string(rsList.Items[i].UID)] = true
	}
	alive := map[string]bool{}
	for i := range podList.Items {
		alive[podList.Items[i].Name] = true
	}
	for name := range c.availableAt {
		if !alive[name] || !c.w.now.Before(c.availableAt[name]) {
			delete(c.availableAt, name) // evicted, or available by now
		}
	}
	for i := range podList.Items {
		p := &podList.Items[i]
		ref := metav1.GetControllerOf(p)
		if ref == nil || !owners[string(ref.UID)] {
			// The garbage collector removes pods whose ReplicaSet is gone.
			if err := kubelet.Delete(ctx, p); client.IgnoreNotFound(err) != nil {
				return false, err
			}
			delete(c.readyAt, p.Name)
			continue
		}
		byOwner[string(ref.UID)] = append(byOwner[string(ref.UID)], p)
	}
	for i := range rsList.Items {
		rs := &rsList.Items[i]
		pods := byOwner[string(rs.UID)]
		want := int32(1)
		if rs.Spec.Replicas != nil {
			want = *rs.Spec.Replicas
		}
		for int32(len(pods)) < want {
			p, err := c.createPod(ctx, kubelet, rs)
			if err != nil {
				return false, err
			}
			pods = append(pods, p)
		}
		if int32(len(pods)) > want {
			victims := deletionOrder(pods)
			for _, p := range victims[:int32(len(pods))-want] {
				if err := kubelet.Delete(ctx, p); client.IgnoreNotFound(err) != nil {
					return false, err
				}
				delete(c.readyAt, p.Name)
			}
			pods = victims[int32(len(pods))-want:]
		}
		for _, p := range pods {
			if at, ok := c.readyAt[p.Name]; ok && !c.w.now.Before(at) {
				if err := c.markReady(ctx, kubelet, p); err != nil {
					return false, err
				}
				if rs.Spec.MinReadySeconds > 0 {
					c.availableAt[p.Name] = c.w.now.Add(time.Duration(rs.Spec.MinReadySeconds) * time.Second)
				}
			}
		}
		if err := c.writeStatus(ctx, kubelet, rs, pods); err != nil {
			return false, err
		}
	}
	return c.w.writes != before, nil
}

// createPod creates one pod of rs from its template, ready after 0–2 ticks.
func (c *cluster) createPod(ctx context.Context, kubelet client.Client, rs *appsv1.ReplicaSet) (*corev1.Pod, error) {
	c.podSeq++
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name:            fmt.Sprintf("%s-%d", rs.Name, c.podSeq),
			Namespace:       rs.Namespace,
			Labels:          labelsOf(rs.Spec.Template.Labels),
			Annotations:     rs.Spec.Template.Annotations,
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(rs, appsv1.SchemeGroupVersion.WithKind("ReplicaSet"))},
		},
		Spec: rs.Spec.Template.Spec,
	}
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionFalse, LastTransitionTime: metav1.NewTime(c.w.now)}}
	if err := kubelet.Create(ctx, p); err != nil {
		return nil, err
	}
	c.readyAt[p.Name] = c.w.now.Add(time.Duration(c.rng.IntN(3)) * tick)
	return p, nil
}

// markReady flips a pod's Ready condition to True now.
func (c *cluster) markReady(ctx context.Context, kubelet client.Client, p *corev1.Pod) error {
	delete(c.readyAt, p.Name)
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(c.w.now)}}
	err := kubelet.Status().Update(ctx, p)
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil // evicted meanwhile, or patched by the controller: next round
	}
	return err
}

// podReady reads a pod's Ready condition and since when.
func podReady(p *corev1.Pod) (bool, time.Time) {
	for _, cond := range p.Status.Conditions {
		if cond.Type == corev1.PodReady {
			return cond.Status == corev1.ConditionTrue, cond.LastTransitionTime.Time
		}
	}
	return false, time.Time{}
}

// deletionOrder sorts pods the way the ReplicaSet controller picks victims
// when scaling down: not ready before ready, then the most recently ready,
// then the newest.
func deletionOrder(pods []*corev1.Pod) []*corev1.Pod {
	out := slices.Clone(pods)
	slices.SortStableFunc(out, func(a, b *corev1.Pod) int {
		ra, sa := podReady(a)
		rb, sb := podReady(b)
		if ra != rb {
			if !ra {
				return -1
			}
			return 1
		}
		if c := sb.Compare(sa); c != 0 {
			return c
		}
		if c := b.CreationTimestamp.Compare(a.CreationTimestamp.Time); c != 0 {
			return c
		}
		return strings.Compare(b.Name, a.Name)
	})
	return out
}

// writeStatus sets the ReplicaSet's status counts as the ReplicaSet
// controller does: pods, ready pods, pods ready for minReadySeconds.
func (c *cluster) writeStatus(ctx context.Context, kubelet client.Client, rs *appsv1.ReplicaSet, pods []*corev1.Pod) error {
	st := appsv1.ReplicaSetStatus{Replicas: int32(len(pods)), FullyLabeledReplicas: int32(len(pods)), ObservedGeneration: rs.Generation}
	minReady := time.Duration(rs.Spec.MinReadySeconds) * time.Second
	for _, p := range pods {
		ready, since := podReady(p)
		if _, pending := c.readyAt[p.Name]; pending {
			ready = false
		}
		if ready {
			st.ReadyReplicas++
			if !since.Add(minReady).After(c.w.now) {
				st.AvailableReplicas++
			}
		}
	}
	if equality.Semantic.DeepEqual(st, rs.Status) {
		return nil
	}
	rs.Status = st
	err := kubelet.Status().Update(ctx, rs)
	if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
		return nil // written meanwhile: recounted next round
	}
	return err
}

// nextEvent is how long until a pod becomes ready or available, if any is
// pending.
func (c *cluster) nextEvent() (time.Duration, bool) {
	var next time.Duration
	found := false
	for _, m := range []map[string]time.Time{c.readyAt, c.availableAt} {
		for _, at := range m {
			if d := at.Sub(c.w.now); d > 0 && (!found || d < next) {
				next, found = d, true
			}
		}
	}
	return next, found
}

// runs plays the AnalysisRun controller: a new run starts Running; a run
// the rollout terminates ends Successful with "Run Terminated" (no
// successful measurement, as when Argo Rollouts terminates a run early).
func (c *cluster) runs(ctx context.Context) error {
	analysis := c.w.as("analysis")
	var list v1alpha1.AnalysisRunList
	if err := c.w.store.List(ctx, &list, client.InNamespace(Namespace)); err != nil {
		return err
	}
	for i := range list.Items {
		run := &list.Items[i]
		switch {
		case run.Status.Phase.Completed():
		case run.Spec.Terminate:
			if err := setRunPhase(ctx, analysis, run, v1alpha1.AnalysisPhaseSuccessful, c.w.now); err != nil {
				return err
			}
		case run.Status.Phase == "":
			if err := setRunPhase(ctx, analysis, run, v1alpha1.AnalysisPhaseRunning, c.w.now); err != nil {
				return err
			}
		}
	}
	return nil
}

// setRunPhase writes a run's status as the AnalysisRun controller would
// for one metric ending in phase (Successful with a successful measurement
// unless the run was terminated).
func setRunPhase(ctx context.Context, c client.Client, run *v1alpha1.AnalysisRun, phase v1alpha1.AnalysisPhase, now time.Time) error {
	orig := run.DeepCopy()
	t := metav1.NewTime(now)
	st := &run.Status
	st.Phase = phase
	if st.StartedAt == nil {
		st.StartedAt = &t
	}
	metric := "check"
	if len(run.Spec.Metrics) > 0 {
		metric = run.Spec.Metrics[0].Name
	}
	result := v1alpha1.MetricResult{Name: metric, Phase: phase, Count: 1}
	st.RunSummary = v1alpha1.RunSummary{Count: 1}
	switch phase {
	case v1alpha1.AnalysisPhaseRunning:
		result.Count = 0
		st.MetricResults = []v1alpha1.MetricResult{result}
		st.Message = ""
		return patchRunStatus(ctx, c, orig, run)
	case v1alpha1.AnalysisPhaseSuccessful:
		if run.Spec.Terminate {
			st.Message = "Run Terminated"
			result.Count = 0
		} else {
			result.Successful = 1
			st.RunSummary.Successful = 1
		}
	case v1alpha1.AnalysisPhaseFailed:
		result.Failed = 1
		st.RunSummary.Failed = 1
		st.Message = fmt.Sprintf("Metric %q assessed Failed due to failed (1) > failureLimit (0)", metric)
	case v1alpha1.AnalysisPhaseInconclusive:
		result.Inconclusive = 1
		st.RunSummary.Inconclusive = 1
		st.Message = fmt.Sprintf("Metric %q assessed Inconclusive due to inconclusive (1) > inconclusiveLimit (0)", metric)
	case v1alpha1.AnalysisPhaseError:
		result.Error = 1
		st.RunSummary.Error = 1
		st.Message = fmt.Sprintf("Metric %q assessed Error due to consecutiveErrors (5) > consecutiveErrorLimit (4)", metric)
	}
	st.MetricResults = []v1alpha1.MetricResult{result}
	st.CompletedAt = &t
	return patchRunStatus(ctx, c, orig, run)
}

func patchRunStatus(ctx context.Context, c client.Client, orig, run *v1alpha1.AnalysisRun) error {
	err := c.Status().Patch(ctx, run, client.MergeFrom(orig))
	if apierrors.IsNotFound(err) {
		return nil // pruned meanwhile
	}
	return err
}
