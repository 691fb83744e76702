package tree

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/analysis/judge"
	"github.com/aviary-rollouts/aviary/internal/plan/phase"
)

// Objects are everything in a namespace a Rollout's or Experiment's view
// may draw on; the builders pick what each owner owns.
type Objects struct {
	ReplicaSets  []appsv1.ReplicaSet
	Pods         []corev1.Pod
	AnalysisRuns []v1alpha1.AnalysisRun
	Experiments  []v1alpha1.Experiment
}

// NewRollout builds the view of ro from objs.
func NewRollout(ro *v1alpha1.Rollout, objs Objects) *Rollout {
	v := &Rollout{
		Name:         ro.Name,
		Namespace:    ro.Namespace,
		Created:      ro.CreationTimestamp.Time,
		ReplicaSets:  replicaSets(ro.UID, ro, objs),
		AnalysisRuns: analysisRuns(ro.UID, objs.AnalysisRuns),
		Desired:      ro.ReplicasOrDefault(),
		Current:      ro.Status.Replicas,
		Updated:      ro.Status.UpdatedReplicas,
		Ready:        ro.Status.ReadyReplicas,
		Available:    ro.Status.AvailableReplicas,
	}
	for i := range objs.Experiments {
		if ownedBy(objs.Experiments[i].OwnerReferences, ro.UID) {
			v.Experiments = append(v.Experiments, *NewExperiment(&objs.Experiments[i], objs))
		}
	}
	slices.SortStableFunc(v.Experiments, func(a, b Experiment) int {
		if a.Revision != b.Revision {
			return b.Revision - a.Revision
		}
		return a.Created.Compare(b.Created)
	})
	st, msg := phase.Observed(ro)
	v.Status, v.Message = string(st), msg
	switch {
	case ro.Spec.Strategy.Canary != nil:
		v.Strategy = "Canary"
		canaryWeights(ro, v)
	case ro.Spec.Strategy.BlueGreen != nil:
		v.Strategy = "BlueGreen"
	}
	return v
}

// canaryWeights fills Step, SetWeight and ActualWeight. SetWeight is the
// weight the steps so far ask for; ActualWeight is what the canary gets:
// its share of available pods without a router, the router's weight with
// one.
func canaryWeights(ro *v1alpha1.Rollout, v *Rollout) {
	steps := ro.Spec.Strategy.Canary.Steps
	if ro.Status.CurrentStepIndex != nil && len(steps) > 0 {
		v.Step = fmt.Sprintf("%d/%d", *ro.Status.CurrentStepIndex, len(steps))
	}
	maxWeight := maxTrafficWeight(ro)
	index := int32(0)
	if ro.Status.CurrentStepIndex != nil {
		index = *ro.Status.CurrentStepIndex
	}
	// Past the last step (or with no steps) the canary is the whole.
	done := len(steps) == 0 || int(index) >= len(steps)
	v.SetWeight = strconv.Itoa(int(SetWeight(ro)))
	v.ActualWeight = "0"
	switch {
	case done:
		v.ActualWeight = strconv.Itoa(int(maxWeight))
	case ro.Status.AvailableReplicas == 0:
	case ro.Spec.Strategy.Canary.TrafficRouting == nil:
		for _, rs := range v.ReplicaSets {
			if rs.Canary {
				v.ActualWeight = strconv.Itoa(int(rs.Available * maxWeight / ro.Status.AvailableReplicas))
			}
		}
	case ro.Status.Canary.Weights != nil:
		v.ActualWeight = strconv.Itoa(int(ro.Status.Canary.Weights.Canary.Weight))
	default:
		v.ActualWeight = v.SetWeight
	}
}

// SetWeight is the weight a canary's steps so far ask for: 0 once
// aborted, the maximum past the last step (or with no steps), else the
// last setWeight up to the current step.
func SetWeight(ro *v1alpha1.Rollout) int32 {
	steps := ro.Spec.Strategy.Canary.Steps
	if ro.Status.Abort {
		return 0
	}
	index := int32(0)
	if ro.Status.CurrentStepIndex != nil {
		index = *ro.Status.CurrentStepIndex
	}
	if len(steps) == 0 || int(index) >= len(steps) {
		return maxTrafficWeight(ro)
	}
	for i := index; i >= 0; i-- {
		if w := steps[i].SetWeight; w != nil {
			return *w
		}
	}
	return 0
}

// maxTrafficWeight is the weight setWeight is relative to: 100 unless the
// router says otherwise.
func maxTrafficWeight(ro *v1alpha1.Rollout) int32 {
	if tr := ro.Spec.Strategy.Canary.TrafficRouting; tr != nil && tr.MaxTrafficWeight != nil {
		return *tr.MaxTrafficWeight
	}
	return 100
}

// NewExperiment builds the view of exp from objs.
func NewExperiment(exp *v1alpha1.Experiment, objs Objects) *Experiment {
	return &Experiment{
		Name:         exp.Name,
		Namespace:    exp.Namespace,
		Created:      exp.CreationTimestamp.Time,
		Status:       string(exp.Status.Phase),
		Message:      exp.Status.Message,
		Revision:     revision(exp.Annotations),
		ReplicaSets:  replicaSets(exp.UID, nil, objs),
		AnalysisRuns: analysisRuns(exp.UID, objs.AnalysisRuns),
	}
}

// replicaSets are the ReplicaSets owner owns, newest revision first, each
// with its pods; ro (nil for an Experiment) says which role each plays.
func replicaSets(owner types.UID, ro *v1alpha1.Rollout, objs Objects) []ReplicaSet {
	var out []ReplicaSet
	for i := range objs.ReplicaSets {
		rs := &objs.ReplicaSets[i]
		if !ownedBy(rs.OwnerReferences, owner) {
			continue
		}
		v := ReplicaSet{
			Name:              rs.Name,
			Created:           rs.CreationTimestamp.Time,
			Status:            replicaSetHealth(rs),
			Revision:          revision(rs.Annotations),
			Replicas:          rs.Status.Replicas,
			Available:         rs.Status.AvailableReplicas,
			Template:          rs.Annotations[v1alpha1.ExperimentTemplateNameAnnotationKey],
			ScaleDownDeadline: rs.Annotations[v1alpha1.DefaultReplicaSetScaleDownDeadlineAnnotationKey],
		}
		for _, c := range rs.Spec.Template.Spec.Containers {
			v.Images = append(v.Images, c.Image)
		}
		if ro != nil {
			roles(ro, rs.Labels[v1alpha1.DefaultRolloutUniqueLabelKey], &v)
		}
		v.Pods = podsOf(rs.UID, objs.Pods)
		out = append(out, v)
	}
	slices.SortStableFunc(out, func(a, b ReplicaSet) int {
		if a.Revision != b.Revision {
			return b.Revision - a.Revision
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out
}

// roles marks the ReplicaSet with hash as stable, canary, active, preview,
// ping or pong.
func roles(ro *v1alpha1.Rollout, hash string, v *ReplicaSet) {
	if c := ro.Spec.Strategy.Canary; c != nil {
		stablePing := ro.Status.Canary.StablePingPong == v1alpha1.PPPing
		switch hash {
		case ro.Status.StableRS:
			v.Stable = true
			if c.PingPong != nil {
				v.Ping, v.Pong = stablePing, !stablePing
			}
		case ro.Status.CurrentPodHash:
			v.Canary = true
			if c.PingPong != nil {
				v.Ping, v.Pong = !stablePing, stablePing
			}
		}
	}
	if ro.Spec.Strategy.BlueGreen != nil {
		v.Stable = hash == ro.Status.StableRS
		switch hash {
		case ro.Status.BlueGreen.ActiveSelector:
			v.Active = true
		case ro.Status.BlueGreen.PreviewSelector:
			v.Preview = true
		}
	}
}

// replicaSetHealth is Progressing until the ReplicaSet's spec is observed
// and all its replicas are available, ReplicaFailure when it cannot create
// pods, ScaledDown at zero and Healthy otherwise.
func replicaSetHealth(rs *appsv1.ReplicaSet) string {
	if rs.Generation > rs.Status.ObservedGeneration {
		return "Progressing"
	}
	for _, c := range rs.Status.Conditions {
		if c.Type == appsv1.ReplicaSetReplicaFailure && c.Status == corev1.ConditionTrue {
			return string(appsv1.ReplicaSetReplicaFailure)
		}
	}
	if rs.Spec.Replicas != nil && rs.Status.AvailableReplicas < *rs.Spec.Replicas {
		return "Progressing"
	}
	if rs.Spec.Replicas != nil && *rs.Spec.Replicas == 0 {
		return "ScaledDown"
	}
	return "Healthy"
}

// podsOf are the pods owner owns, oldest first.
func podsOf(owner types.UID, pods []corev1.Pod) []Pod {
	var out []Pod
	for i := range pods {
		if ownedBy(pods[i].OwnerReferences, owner) {
			out = append(out, newPod(&pods[i]))
		}
	}
	slices.SortStableFunc(out, func(a, b Pod) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out
}

// newPod words the pod's status as `kubectl get pods` does: the first
// failing or waiting init container, else the last container's waiting or
// terminated reason, else the pod phase (or reason); Terminating once
// deleted.
func newPod(pod *corev1.Pod) Pod {
	status := string(pod.Status.Phase)
	if pod.Status.Reason != "" {
		status = pod.Status.Reason
	}
	// Sidecars are init containers that keep running; their being up
	// does not hold the pod in Init.
	sidecar := map[string]bool{}
	for _, c := range pod.Spec.InitContainers {
		sidecar[c.Name] = c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
	}
	restarts, ready := 0, 0
	initializing := false
inits:
	for i, c := range pod.Status.InitContainerStatuses {
		restarts += int(c.RestartCount)
		term, wait := c.State.Terminated, c.State.Waiting
		switch {
		case term != nil && term.ExitCode == 0:
			continue
		case term != nil && term.Reason != "":
			status = "Init:" + term.Reason
		case term != nil && term.Signal != 0:
			status = fmt.Sprintf("Init:Signal:%d", term.Signal)
		case term != nil:
			status = fmt.Sprintf("Init:ExitCode:%d", term.ExitCode)
		case sidecar[c.Name] && c.Started != nil && *c.Started && c.Ready:
			continue
		case sidecar[c.Name] && c.Started != nil && *c.Started:
			// A started sidecar that is not ready yet ends the scan
			// without holding the pod in Init.
			break inits
		case wait != nil && wait.Reason != "" && wait.Reason != "PodInitializing":
			status = "Init:" + wait.Reason
		default:
			status = fmt.Sprintf("Init:%d/%d", i, len(pod.Spec.InitContainers))
		}
		initializing = true
		break
	}
	if !initializing {
		restarts = 0
		running := false
		for i := len(pod.Status.ContainerStatuses) - 1; i >= 0; i-- {
			c := pod.Status.ContainerStatuses[i]
			restarts += int(c.RestartCount)
			term, wait := c.State.Terminated, c.State.Waiting
			switch {
			case wait != nil && wait.Reason != "":
				status = wait.Reason
			case term != nil && term.Reason != "":
				status = term.Reason
			case term != nil && term.Signal != 0:
				status = fmt.Sprintf("Signal:%d", term.Signal)
			case term != nil:
				status = fmt.Sprintf("ExitCode:%d", term.ExitCode)
			case c.Ready && c.State.Running != nil:
				running = true
				ready++
			}
		}
		// A pod with one container done and another still serving is running.
		if status == "Completed" && running {
			status = "Running"
		}
	}
	if pod.DeletionTimestamp != nil {
		// The node controller's reason for pods on a lost node.
		if pod.Status.Reason == "NodeLost" {
			status = "Unknown"
		} else {
			status = "Terminating"
		}
	}
	return Pod{
		Name:     pod.Name,
		Created:  pod.CreationTimestamp.Time,
		Status:   status,
		Ready:    fmt.Sprintf("%d/%d", ready, len(pod.Spec.Containers)),
		Restarts: restarts,
	}
}

// analysisRuns are the runs owner owns, newest revision first, with their
// measurement counts and the Jobs their measurements name.
func analysisRuns(owner types.UID, runs []v1alpha1.AnalysisRun) []AnalysisRun {
	var out []AnalysisRun
	for i := range runs {
		run := &runs[i]
		if !ownedBy(run.OwnerReferences, owner) {
			continue
		}
		v := AnalysisRun{
			Name:     run.Name,
			Created:  run.CreationTimestamp.Time,
			Status:   string(run.Status.Phase),
			Revision: revision(run.Annotations),
		}
		for _, mr := range run.Status.MetricResults {
			v.Successful += mr.Successful
			v.Failed += mr.Failed
			v.Inconclusive += mr.Inconclusive
			v.Error += mr.Error
			for _, m := range mr.Measurements {
				name, ok := m.Metadata["job-name"]
				if !ok {
					continue
				}
				job := Job{Name: name, Status: string(m.Phase)}
				if m.StartedAt != nil {
					job.Created = m.StartedAt.Time
				}
				v.Jobs = append(v.Jobs, job)
			}
		}
		v.Judgements = Judgements(run)
		out = append(out, v)
	}
	slices.SortStableFunc(out, func(a, b AnalysisRun) int {
		if a.Revision != b.Revision {
			return b.Revision - a.Revision
		}
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return strings.Compare(b.Name, a.Name)
	})
	return out
}

// Judgements are the latest judgement of each judge metric of run, in the
// order of its metrics: the newest measurement whose value reads as one
// (an Error measurement has none). Other providers' values are never
// read as judgements.
func Judgements(run *v1alpha1.AnalysisRun) []Judgement {
	var out []Judgement
	for _, m := range run.Spec.Metrics {
		if _, ok := m.Provider.Plugin[judge.PluginKey]; !ok {
			continue
		}
		i := slices.IndexFunc(run.Status.MetricResults, func(r v1alpha1.MetricResult) bool { return r.Name == m.Name })
		if i < 0 {
			continue
		}
		ms := run.Status.MetricResults[i].Measurements
		for k := len(ms) - 1; k >= 0; k-- {
			v, err := judge.ParseValue(ms[k].Value)
			if err != nil {
				continue
			}
			j := Judgement{Metric: m.Name, Phase: string(ms[k].Phase), Value: v}
			switch {
			case ms[k].FinishedAt != nil:
				j.Measured = ms[k].FinishedAt.Time
			case ms[k].StartedAt != nil:
				j.Measured = ms[k].StartedAt.Time
			}
			out = append(out, j)
			break
		}
	}
	return out
}

func ownedBy(refs []metav1.OwnerReference, uid types.UID) bool {
	for _, r := range refs {
		if r.UID == uid {
			return true
		}
	}
	return false
}

// revision is the rollout.argoproj.io/revision annotation, 0 if absent.
func revision(annotations map[string]string) int {
	n, err := strconv.Atoi(annotations[v1alpha1.RevisionAnnotation])
	if err != nil {
		return 0
	}
	return n
}
