package wave

import (
	"context"
	"fmt"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/bench/internal/controllerproc"
)

// Name is the name of the i-th benchmark Rollout, app-0000 onwards; the
// objects that go with it are named after it.
func Name(i int) string { return fmt.Sprintf("app-%04d", i) }

// Image is the demo image of a color (Color).
func Image(color string) string { return "argoproj/rollouts-demo:" + color }

// colors are the tags of the demo image.
var colors = []string{"blue", "green", "yellow", "orange", "red", "purple"}

// Color names version v of the benchmark Rollouts: blue for the first
// (v=0), green for the first update, then the demo's other colors, and
// from v=6 on, colors numbered by version ("blue-6"), so that every
// version is a new pod template.
func Color(v int) string {
	if v < len(colors) {
		return colors[v]
	}
	return fmt.Sprintf("%s-%d", colors[v%len(colors)], v)
}

// Rollout is the i-th benchmark Rollout: replicas pods of one container
// "app" running the blue image, selected by app=<name>, with the canary
// strategy given.
func Rollout(ns string, i int, replicas int32, canary *v1alpha1.CanaryStrategy) *v1alpha1.Rollout {
	name := Name(i)
	labels := map[string]string{"app": name}
	return &v1alpha1.Rollout{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: v1alpha1.RolloutSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: Image("blue")}}},
			},
			Strategy: v1alpha1.RolloutStrategy{Canary: canary},
		},
	}
}

// CreateAll creates the objects of each of n benchmark Rollouts, in the
// order objects gives them, n at a time in parallel.
func CreateAll(ctx context.Context, cl client.Client, n int, objects func(i int) []client.Object) error {
	return controllerproc.Parallel(n, func(i int) error {
		for _, o := range objects(i) {
			if err := cl.Create(ctx, o); err != nil {
				return fmt.Errorf("create %T %s: %w", o, o.GetName(), err)
			}
		}
		return nil
	})
}

// SetImages changes the image of all n benchmark Rollouts to color's at
// once: the update wave.
func SetImages(ctx context.Context, cl client.Client, ns string, n int, color string) error {
	patch := fmt.Appendf(nil, `{"spec":{"template":{"spec":{"containers":[{"name":"app","image":%q}]}}}}`, Image(color))
	return controllerproc.Parallel(n, func(i int) error {
		ro := &v1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: Name(i)}}
		if err := cl.Patch(ctx, ro, client.RawPatch("application/merge-patch+json", patch)); err != nil {
			return fmt.Errorf("set image of %s: %w", ro.Name, err)
		}
		return nil
	})
}

// HealthyOn reports whether ro has observed its spec and is Healthy on
// color's image with that version stable and all its replicas updated.
func HealthyOn(ro *v1alpha1.Rollout, color string) bool {
	return ro.Status.ObservedGeneration == strconv.FormatInt(ro.Generation, 10) &&
		ro.Status.Phase == v1alpha1.RolloutPhaseHealthy &&
		ro.Spec.Template.Spec.Containers[0].Image == Image(color) &&
		ro.Status.StableRS != "" && ro.Status.StableRS == ro.Status.CurrentPodHash &&
		ro.Status.UpdatedReplicas == ro.ReplicasOrDefault()
}

// WaitRollouts waits until done holds for all the benchmark's Rollouts,
// as its informers see them, giving up after Timeout without progress
// with the count done and their phases.
func (e *Env) WaitRollouts(ctx context.Context, done func(*v1alpha1.Rollout) bool) error {
	return e.Poll(func() (bool, string, error) {
		var list v1alpha1.RolloutList
		if err := e.List(ctx, &list); err != nil {
			return false, "", err
		}
		count := 0
		phases := map[v1alpha1.RolloutPhase]int{}
		for i := range list.Items {
			phases[list.Items[i].Status.Phase]++
			if done(&list.Items[i]) {
				count++
			}
		}
		return count >= e.N, fmt.Sprintf("%d of %d rollouts done (phases %v)", count, e.N, phases), nil
	})
}

// List reads the benchmark's namespace into list from its informers. The
// items are the informers' own objects, not copies of thousands: read
// only.
func (e *Env) List(ctx context.Context, list client.ObjectList) error {
	return e.Watched.List(ctx, list, client.InNamespace(e.Namespace), client.UnsafeDisableDeepCopy)
}

// Poll calls check every checkInterval until it reports done or returns
// an error, giving up after Timeout without progress.
func (e *Env) Poll(check func() (done bool, progress string, err error)) error {
	return Poll(e.Timeout, checkInterval, check)
}
