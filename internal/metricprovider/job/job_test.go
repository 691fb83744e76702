package job

import (
	"context"
	"errors"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// noPods fails the test if pods are read.
type noPods struct {
	client.Reader
	t *testing.T
}

func (n noPods) List(context.Context, client.ObjectList, ...client.ListOption) error {
	n.t.Error("pods were listed")
	return errors.New("unexpected")
}

func TestResumeLooksAtPodsOnlyWhileNotReady(t *testing.T) {
	now := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	created := metav1.NewTime(now.Add(-4 * time.Second))
	job := func(active, ready int32) *batchv1.Job {
		return &batchv1.Job{
			ObjectMeta: metav1.ObjectMeta{Name: "j", Namespace: "ns", CreationTimestamp: created},
			Spec:       batchv1.JobSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"job": "j"}}},
			Status:     batchv1.JobStatus{Active: active, Ready: &ready},
		}
	}
	pullPod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "j-abc", Namespace: "ns", Labels: map[string]string{"job": "j"}},
		Status: corev1.PodStatus{Phase: corev1.PodPending, ContainerStatuses: []corev1.ContainerStatus{
			waiting("check", "registry.invalid/metric:v1", "ImagePullBackOff", "Back-off pulling image")}}}
	pendingPod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "j-abc", Namespace: "ns", Labels: map[string]string{"job": "j"}},
		Status: corev1.PodStatus{Phase: corev1.PodPending}}
	otherPod := pullPod.DeepCopy()
	otherPod.Labels = map[string]string{"job": "other"}
	m := v1alpha1.Measurement{Phase: v1alpha1.AnalysisPhaseRunning, Metadata: map[string]string{JobNameKey: "j"}}
	run := &v1alpha1.AnalysisRun{ObjectMeta: metav1.ObjectMeta{Name: "run", Namespace: "ns"}}

	scheme := runtime.NewScheme()
	_ = batchv1.AddToScheme(scheme)
	_ = corev1.AddToScheme(scheme)
	tests := []struct {
		name       string
		job        *batchv1.Job
		pods       []client.Object
		listPods   bool
		wantPhase  v1alpha1.AnalysisPhase
		wantResume *time.Time
		jobDeleted bool
	}{
		{"all active pods ready: no look", job(1, 1), nil, false, v1alpha1.AnalysisPhaseRunning, nil, false},
		{"no active pod yet: no look", job(0, 0), nil, false, v1alpha1.AnalysisPhaseRunning, nil, false},
		{"a pod pending: look again after PollAfter(age)", job(1, 0), []client.Object{pendingPod}, true, v1alpha1.AnalysisPhaseRunning, new(now.Add(2 * time.Second)), false},
		{"a pod that cannot pull: Inconclusive, Job deleted", job(1, 0), []client.Object{pullPod}, true, v1alpha1.AnalysisPhaseInconclusive, nil, true},
		{"another Job's pod is not this one's", job(1, 0), []client.Object{otherPod}, true, v1alpha1.AnalysisPhaseRunning, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(append([]client.Object{tt.job}, tt.pods...)...).WithStatusSubresource(&batchv1.Job{}).Build()
			if err := c.Status().Update(context.Background(), tt.job); err != nil {
				t.Fatal(err)
			}
			var pods client.Reader = c
			if !tt.listPods {
				pods = noPods{c, t}
			}
			p := &Provider{Reader: c, Writer: c, Pods: pods, Now: func() time.Time { return now }}
			got := p.Resume(context.Background(), run, v1alpha1.Metric{Name: "smoke"}, m)
			if got.Phase != tt.wantPhase {
				t.Errorf("phase %s (%q), want %s", got.Phase, got.Message, tt.wantPhase)
			}
			switch {
			case tt.wantResume == nil && got.ResumeAt != nil:
				t.Errorf("resumeAt %s, want none", got.ResumeAt)
			case tt.wantResume != nil && (got.ResumeAt == nil || !got.ResumeAt.Time.Equal(*tt.wantResume)):
				t.Errorf("resumeAt %v, want %s", got.ResumeAt, tt.wantResume)
			}
			err := c.Get(context.Background(), client.ObjectKeyFromObject(tt.job), &batchv1.Job{})
			if deleted := apierrors.IsNotFound(err); deleted != tt.jobDeleted {
				t.Errorf("Job deleted %v, want %v (%v)", deleted, tt.jobDeleted, err)
			}
		})
	}
}
