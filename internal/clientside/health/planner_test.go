package health

import (
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	expplan "github.com/aviary-rollouts/aviary/internal/plan/experiment"
)

// world is an Experiment and its ReplicaSets as the API server would hold
// them after the controller's passes: each pass runs the controller's
// planner and applies its ReplicaSet steps and its status.
type world struct {
	t   *testing.T
	exp *v1alpha1.Experiment
	rss []*appsv1.ReplicaSet
	now time.Time
}

func newWorld(t *testing.T, spec v1alpha1.ExperimentSpec) *world {
	return &world{t: t, now: created.Time, exp: &v1alpha1.Experiment{
		ObjectMeta: metav1.ObjectMeta{Name: "exp", Namespace: "ns", UID: "exp-uid", CreationTimestamp: created},
		Spec:       spec,
	}}
}

// pass runs one reconcile at w.now and returns Argo CD's verdict on what
// it wrote.
func (w *world) pass() Status {
	w.t.Helper()
	plan := expplan.Decide(expplan.Observed{Experiment: w.exp.DeepCopy(), ReplicaSets: w.rss, TakenRunNames: map[string]bool{}, Now: w.now})
	for _, s := range plan.Steps {
		switch s := s.(type) {
		case expplan.CreateReplicaSet:
			rs := s.ReplicaSet.DeepCopy()
			rs.UID = "rs-" + rs.UID
			w.rss = append(w.rss, rs)
		case expplan.ScaleReplicaSet:
			for _, rs := range w.rss {
				if rs.Name == s.ReplicaSet.Name {
					rs.Spec.Replicas = ptr.To(s.Replicas)
				}
			}
		case expplan.WriteStatus:
			w.exp.Status = s.Status
		case expplan.CreateRun, expplan.CreateService:
			w.t.Fatalf("unexpected step %T for an Experiment without analyses or Services", s)
		}
	}
	return Experiment(w.exp)
}

// settle makes every ReplicaSet's pods what its spec asks for, all
// available, as the ReplicaSet controller and kubelet would.
func (w *world) settle() {
	for _, rs := range w.rss {
		n := ptr.Deref(rs.Spec.Replicas, 0)
		rs.Status = appsv1.ReplicaSetStatus{Replicas: n, ReadyReplicas: n, AvailableReplicas: n, ObservedGeneration: rs.Generation}
	}
}

func template(name, image string) v1alpha1.TemplateSpec {
	labels := map[string]string{"app": "demo", "role": name}
	return v1alpha1.TemplateSpec{Name: name, Replicas: ptr.To[int32](1), Selector: &metav1.LabelSelector{MatchLabels: labels},
		Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: image}}}}}
}

func want(t *testing.T, when string, got Status, code Code, msg string) {
	t.Helper()
	if got.Code != code || got.Message != msg {
		t.Errorf("%s: Argo CD says %s %q, want %s %q", when, got.Code, got.Message, code, msg)
	}
}

// TestExperimentLifecycleThroughThePlanner: the statuses Aviary's
// experiment planner writes, pass by pass, get the verdict Argo CD should
// give: Progressing until done, Healthy once Successful (also when
// terminated), Degraded for an invalid spec.
func TestExperimentLifecycleThroughThePlanner(t *testing.T) {
	spec := v1alpha1.ExperimentSpec{Duration: "30s", Templates: []v1alpha1.TemplateSpec{template("baseline", "demo:blue"), template("canary", "demo:green")}}

	t.Run("runs its duration", func(t *testing.T) {
		w := newWorld(t, spec)
		want(t, "created", Experiment(w.exp), Progressing, MsgNotReconciled)
		want(t, "first pass", w.pass(), Progressing, MsgPending)
		for range 3 { // create, scale up, observe
			w.now = w.now.Add(time.Second)
			w.settle()
			w.pass()
		}
		want(t, fmt.Sprintf("templates available (phase %s)", w.exp.Status.Phase), Experiment(w.exp), Progressing, MsgRunning)
		w.now = w.now.Add(31 * time.Second)
		got := w.pass()
		want(t, fmt.Sprintf("duration passed (phase %s, message %q)", w.exp.Status.Phase, w.exp.Status.Message), got, Healthy, MsgSuccessful)
	})

	t.Run("terminated while running", func(t *testing.T) {
		w := newWorld(t, spec)
		for range 4 {
			w.settle()
			w.pass()
			w.now = w.now.Add(time.Second)
		}
		want(t, "running", Experiment(w.exp), Progressing, MsgRunning)
		w.exp.Spec.Terminate = true
		for range 3 {
			w.pass()
			w.settle()
			w.now = w.now.Add(time.Second)
		}
		want(t, fmt.Sprintf("terminated (phase %s)", w.exp.Status.Phase), Experiment(w.exp), Healthy, MsgSuccessful)
	})

	t.Run("invalid spec", func(t *testing.T) {
		bad := *spec.DeepCopy()
		bad.Templates[1].Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "other"}}
		w := newWorld(t, bad)
		got := w.pass()
		if c := w.exp.Status.Conditions; len(c) == 0 || c[0].Type != v1alpha1.InvalidExperimentSpec {
			t.Fatalf("conditions %+v, want InvalidSpec", c)
		}
		// Aviary writes phase Error beside the condition, so Argo CD
		// says Degraded where Argo Rollouts' condition alone gets Unknown.
		want(t, fmt.Sprintf("invalid (phase %s)", w.exp.Status.Phase), got, Degraded, MsgError)
	})
}
