// Package job is the Job metric provider: each measurement runs one
// Kubernetes Job, owned by the AnalysisRun; the measurement succeeds when the
// Job completes and fails when it fails. It is asynchronous — Run creates
// the Job and returns a Running measurement, Resume reads the Job when its
// watch event brings the run back.
package job

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// Labels, annotations and measurement metadata keys, as Argo Rollouts names
// them (tools select analysis Jobs by them).
const (
	UIDLabel             = "analysisrun.argoproj.io/uid"
	RunNameAnnotation    = "analysisrun.argoproj.io/name"
	RunNSAnnotation      = "analysisrun.argoproj.io/namespace"
	MetricNameAnnotation = "analysisrun.argoproj.io/metric-name"
	JobNameKey           = "job-name"
	JobNamespaceKey      = "job-namespace"
)

// Provider runs Job metrics.
type Provider struct {
	// Reader reads Jobs (the cache of Jobs labelled with UIDLabel).
	Reader client.Reader
	// Writer creates and deletes Jobs.
	Writer client.Writer
	// Pods reads the pods of a Job around the cache (pods are never
	// cached), only while the Job has active pods that are not ready (see
	// Resume); nil skips the look.
	Pods client.Reader
	Now  func() time.Time
}

// Type is the provider's name in metric results.
func (p *Provider) Type() string { return "Job" }

// Metadata has nothing to add for Jobs.
func (p *Provider) Metadata(v1alpha1.Metric) map[string]string { return nil }

// Name is the Job of a run's metric for its next measurement:
// <run UID>.<metric>.<n>, the metric name shortened to fit 63 characters.
func Name(run *v1alpha1.AnalysisRun, metric string) string {
	n := int32(1)
	for _, r := range run.Status.MetricResults {
		if r.Name == metric {
			n = r.Count + r.Error + 1
		}
	}
	name := fmt.Sprintf("%s.%s.%d", run.UID, metric, n)
	if over := len(name) - 63; over > 0 && over < len(metric) {
		name = fmt.Sprintf("%s.%s.%d", run.UID, metric[:len(metric)-over], n)
	}
	return name
}

func (p *Provider) now() metav1.Time { return metav1.NewTime(p.Now()) }

// Run creates the measurement's Job.
func (p *Provider) Run(ctx context.Context, run *v1alpha1.AnalysisRun, metric v1alpha1.Metric) v1alpha1.Measurement {
	started := p.now()
	m := v1alpha1.Measurement{Phase: v1alpha1.AnalysisPhaseRunning, StartedAt: &started}
	spec := metric.Provider.Job
	if spec == nil {
		return p.fail(m, errors.New("metric has no job provider"))
	}
	labels := map[string]string{}
	for k, v := range spec.Metadata.Labels {
		labels[k] = v
	}
	labels[UIDLabel] = string(run.UID)
	annotations := map[string]string{}
	for k, v := range spec.Metadata.Annotations {
		annotations[k] = v
	}
	annotations[RunNameAnnotation] = run.Name
	annotations[RunNSAnnotation] = run.Namespace
	annotations[MetricNameAnnotation] = metric.Name
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{
			Name: Name(run, metric.Name), Namespace: run.Namespace, Labels: labels, Annotations: annotations,
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(run, v1alpha1.GroupVersion.WithKind("AnalysisRun"))},
		},
		Spec: *spec.Spec.DeepCopy(),
	}
	if err := p.Writer.Create(ctx, job); err != nil {
		if !apierrors.IsAlreadyExists(err) {
			return p.fail(m, fmt.Errorf("create Job %s: %w", job.Name, err))
		}
		// Created by an earlier attempt whose status write was lost: use
		// it if it is this run's.
		var existing batchv1.Job
		if err := p.Reader.Get(ctx, client.ObjectKeyFromObject(job), &existing); err != nil {
			return p.fail(m, fmt.Errorf("read existing Job %s: %w", job.Name, err))
		}
		if existing.Labels[UIDLabel] != string(run.UID) {
			return p.fail(m, fmt.Errorf("a Job named %s exists and belongs to another AnalysisRun", job.Name))
		}
	}
	// No resumeAt: the Job's watch event brings the run back when it
	// finishes (a timed resume would delay that until the timer).
	m.Metadata = map[string]string{JobNameKey: job.Name, JobNamespaceKey: job.Namespace}
	return m
}

// Resume reads the Job: complete → Successful, failed → Failed, a pod that
// cannot get its image → Inconclusive (see pullCheck), else still Running.
func (p *Provider) Resume(ctx context.Context, run *v1alpha1.AnalysisRun, _ v1alpha1.Metric, m v1alpha1.Measurement) v1alpha1.Measurement {
	key, err := jobKey(m, run.Namespace)
	if err != nil {
		return p.fail(m, err)
	}
	var job batchv1.Job
	if err := p.Reader.Get(ctx, key, &job); err != nil {
		return p.fail(m, fmt.Errorf("read Job %s: %w", key.Name, err))
	}
	for _, c := range job.Status.Conditions {
		if c.Status != corev1.ConditionTrue {
			continue
		}
		switch c.Type {
		case batchv1.JobComplete:
			return p.finish(m, v1alpha1.AnalysisPhaseSuccessful, "")
		case batchv1.JobFailed:
			msg := fmt.Sprintf("Job %s failed", job.Name)
			if c.Message != "" {
				msg += ": " + c.Message
			}
			return p.finish(m, v1alpha1.AnalysisPhaseFailed, msg)
		}
	}
	return p.pullCheck(ctx, &job, m)
}

// pullCheck looks at the pods of an unfinished Job whose active pods are
// not all ready. A container that cannot get its image (ErrImagePull,
// ImagePullBackOff, InvalidImageName) would keep the Job, and the run,
// going forever: the measurement is Inconclusive, as in Argo Rollouts, with
// the pod, container, reason and image in its message, and the Job is
// deleted so its pods stop pulling. While some pod has not started the
// measurement resumes after PollAfter, since no Job event tells of a pod
// stuck on its image.
//
// Cost: one label-selected pod List against the API server per look, only
// while the Job has active pods that are not ready — at the Job's events,
// then at most every 10 s while a pod stays Pending. A Job whose pods all
// run costs nothing more, and its completion comes by its watch event.
func (p *Provider) pullCheck(ctx context.Context, job *batchv1.Job, m v1alpha1.Measurement) v1alpha1.Measurement {
	m.ResumeAt = nil
	if p.Pods == nil || job.Status.Active == 0 || (job.Status.Ready != nil && *job.Status.Ready >= job.Status.Active) || job.Spec.Selector == nil {
		return m
	}
	sel, err := metav1.LabelSelectorAsSelector(job.Spec.Selector)
	if err != nil {
		return m
	}
	var pods corev1.PodList
	if err := p.Pods.List(ctx, &pods, client.InNamespace(job.Namespace), client.MatchingLabelsSelector{Selector: sel}); err != nil {
		// Look again later; the Job itself is still fine.
		at := metav1.NewTime(p.Now().Add(maxPoll))
		m.ResumeAt = &at
		return m
	}
	if msg := PullFailure(job.Name, pods.Items); msg != "" {
		if err := p.Writer.Delete(ctx, job, client.PropagationPolicy(metav1.DeletePropagationBackground)); client.IgnoreNotFound(err) != nil {
			msg += fmt.Sprintf(" (deleting the Job failed: %v)", err)
		}
		return p.finish(m, v1alpha1.AnalysisPhaseInconclusive, msg)
	}
	for _, pod := range pods.Items {
		if pod.Status.Phase == corev1.PodPending {
			at := metav1.NewTime(p.Now().Add(PollAfter(p.Now().Sub(job.CreationTimestamp.Time))))
			m.ResumeAt = &at
			break
		}
	}
	return m
}

// Terminate deletes a running measurement's Job (and its pods).
func (p *Provider) Terminate(ctx context.Context, run *v1alpha1.AnalysisRun, _ v1alpha1.Metric, m v1alpha1.Measurement) v1alpha1.Measurement {
	key, err := jobKey(m, run.Namespace)
	if err != nil {
		return p.fail(m, err)
	}
	job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: key.Name, Namespace: key.Namespace}}
	if err := p.Writer.Delete(ctx, job, client.PropagationPolicy(metav1.DeletePropagationBackground)); client.IgnoreNotFound(err) != nil {
		return p.fail(m, fmt.Errorf("delete Job %s: %w", key.Name, err))
	}
	return p.finish(m, v1alpha1.AnalysisPhaseSuccessful, "Metric Terminated")
}

// GarbageCollect deletes the run's Jobs of metric beyond the newest keep.
func (p *Provider) GarbageCollect(ctx context.Context, run *v1alpha1.AnalysisRun, metric v1alpha1.Metric, keep int) error {
	var list batchv1.JobList
	if err := p.Reader.List(ctx, &list, client.InNamespace(run.Namespace), client.MatchingLabels{UIDLabel: string(run.UID)}); err != nil {
		return fmt.Errorf("list Jobs of AnalysisRun %s: %w", run.Name, err)
	}
	var mine []*batchv1.Job
	for i := range list.Items {
		if list.Items[i].Annotations[MetricNameAnnotation] == metric.Name {
			mine = append(mine, &list.Items[i])
		}
	}
	// Newest first by creation time; names carry the measurement number
	// but not zero-padded.
	sort.Slice(mine, func(i, j int) bool { return mine[j].CreationTimestamp.Before(&mine[i].CreationTimestamp) })
	for i := keep; i < len(mine); i++ {
		if err := p.Writer.Delete(ctx, mine[i], client.PropagationPolicy(metav1.DeletePropagationBackground)); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("delete old Job %s: %w", mine[i].Name, err)
		}
	}
	return nil
}

func jobKey(m v1alpha1.Measurement, ns string) (types.NamespacedName, error) {
	name := m.Metadata[JobNameKey]
	if name == "" {
		return types.NamespacedName{}, errors.New("the measurement does not name its Job (job-name metadata missing)")
	}
	if n := m.Metadata[JobNamespaceKey]; n != "" {
		ns = n
	}
	return types.NamespacedName{Namespace: ns, Name: name}, nil
}

func (p *Provider) finish(m v1alpha1.Measurement, phase v1alpha1.AnalysisPhase, msg string) v1alpha1.Measurement {
	done := p.now()
	m.Phase, m.Message, m.FinishedAt, m.ResumeAt = phase, msg, &done, nil
	return m
}

func (p *Provider) fail(m v1alpha1.Measurement, err error) v1alpha1.Measurement {
	return p.finish(m, v1alpha1.AnalysisPhaseError, err.Error())
}
