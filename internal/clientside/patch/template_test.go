package patch

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/manager"
)

func template(image string, hash string) corev1.PodTemplateSpec {
	labels := map[string]string{"app": "demo"}
	if hash != "" {
		labels[v1alpha1.DefaultRolloutUniqueLabelKey] = hash
	}
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: labels},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "demo", Image: image}}},
	}
}

func replicaSet(owner *v1alpha1.Rollout, name, revision, image string) appsv1.ReplicaSet {
	rs := appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: map[string]string{}}}
	if revision != "" {
		rs.Annotations[v1alpha1.RevisionAnnotation] = revision
	}
	if owner != nil {
		rs.OwnerReferences = []metav1.OwnerReference{*metav1.NewControllerRef(owner, v1alpha1.GroupVersion.WithKind("Rollout"))}
	}
	rs.Spec.Template = template(image, name)
	return rs
}

func TestRevision(t *testing.T) {
	ro := &v1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Name: "demo", UID: "u1"}}
	other := &v1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Name: "other", UID: "u2"}}
	rss := []appsv1.ReplicaSet{
		replicaSet(ro, "r1", "1", "v1"),
		replicaSet(ro, "r3", "3", "v3"),
		replicaSet(ro, "r2", "2", "v2"),
		replicaSet(other, "o9", "9", "x"),
		replicaSet(nil, "n8", "8", "x"),
		replicaSet(ro, "bad", "x", "x"),
	}
	for _, tc := range []struct {
		name    string
		rss     []appsv1.ReplicaSet
		to      int64
		want    string
		wantErr string
	}{
		{"previous of the latest", rss, 0, "r2", ""},
		{"named revision", rss, 1, "r1", ""},
		{"another rollout's revision is not ours", rss, 9, "", "unable to find specified revision 9 in history"},
		{"only one revision", rss[:1], 0, "", `no revision found for rollout "demo"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs, err := Revision(ro, tc.rss, tc.to)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || rs.Name != tc.want {
				t.Fatalf("got %v, %v; want %s", rs, err, tc.want)
			}
		})
	}
}

func TestSameTemplate(t *testing.T) {
	defaulted := template("v1", "abc")
	defaulted.Spec.Containers[0].TerminationMessagePath = "/dev/termination-log"
	defaulted.Spec.RestartPolicy = corev1.RestartPolicyAlways
	for _, tc := range []struct {
		name     string
		cur, rev corev1.PodTemplateSpec
		want     bool
	}{
		{"same but the hash label", template("v1", ""), template("v1", "abc"), true},
		{"defaults on the ReplicaSet only", template("v1", ""), defaulted, true},
		{"another image", template("v2", ""), template("v1", "abc"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := SameTemplate(tc.cur, tc.rev)
			if err != nil || got != tc.want {
				t.Fatalf("got %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

func TestUndo(t *testing.T) {
	tmpl := template("v1", "abc")
	for kind, path := range map[string]string{"Rollout": "/spec/template", "Deployment": "/spec/template", "ReplicaSet": "/spec/template", "PodTemplate": "/template"} {
		ps, err := Undo(kind, tmpl)
		if err != nil || len(ps) != 1 {
			t.Fatalf("%s: %v, %v", kind, ps, err)
		}
		p := ps[0]
		if p.Type != types.JSONPatchType || p.Subresource != "" || p.Fallback != nil {
			t.Errorf("%s: got %+v, want one JSON patch to the object", kind, p)
		}
		var ops []struct {
			Op, Path string
			Value    corev1.PodTemplateSpec
		}
		if err := json.Unmarshal(p.Body, &ops); err != nil || len(ops) != 1 {
			t.Fatalf("%s: %s: %v", kind, p.Body, err)
		}
		if ops[0].Op != "replace" || ops[0].Path != path || ops[0].Value.Spec.Containers[0].Image != "v1" {
			t.Errorf("%s: got %s", kind, p.Body)
		}
		if _, ok := ops[0].Value.Labels[v1alpha1.DefaultRolloutUniqueLabelKey]; ok || ops[0].Value.Labels["app"] != "demo" {
			t.Errorf("%s: the hash label must go, the others stay: %s", kind, p.Body)
		}
	}
	if _, ok := tmpl.Labels[v1alpha1.DefaultRolloutUniqueLabelKey]; !ok {
		t.Error("Undo changed the caller's template")
	}
}

func TestSetImage(t *testing.T) {
	obj := func() map[string]any {
		return map[string]any{"spec": map[string]any{"template": map[string]any{"spec": map[string]any{
			"initContainers":      []any{map[string]any{"name": "init", "image": "i:1"}},
			"containers":          []any{map[string]any{"name": "app", "image": "a:1"}, map[string]any{"name": "side", "image": "s:1"}},
			"ephemeralContainers": []any{map[string]any{"name": "app", "image": "e:1"}},
		}}}}
	}
	images := func(o map[string]any) string {
		var out []string
		spec := o["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)
		for _, f := range []string{"initContainers", "containers", "ephemeralContainers"} {
			for _, c := range spec[f].([]any) {
				out = append(out, c.(map[string]any)["image"].(string))
			}
		}
		return strings.Join(out, " ")
	}
	for _, tc := range []struct{ container, want string }{
		{"app", "i:1 x:2 s:1 x:2"},
		{"init", "x:2 a:1 s:1 e:1"},
		{"*", "x:2 x:2 x:2 x:2"},
	} {
		o := obj()
		if err := SetImage(o, "Rollout", tc.container, "x:2"); err != nil {
			t.Fatal(err)
		}
		if got := images(o); got != tc.want {
			t.Errorf("%s: got %s, want %s", tc.container, got, tc.want)
		}
	}
	if err := SetImage(obj(), "Rollout", "nope", "x:2"); err == nil || err.Error() != `unable to find container named "nope"` {
		t.Errorf("unknown container: %v", err)
	}
	pt := map[string]any{"template": map[string]any{"spec": map[string]any{"containers": []any{map[string]any{"name": "app", "image": "a:1"}}}}}
	if err := SetImage(pt, "PodTemplate", "app", "x:2"); err != nil {
		t.Errorf("PodTemplate: %v", err)
	}
}

// TestSend checks the order of the requests and the fallback to the
// object itself when the status subresource is not served.
func TestSend(t *testing.T) {
	scheme, err := manager.Scheme()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name      string
		noStatus  bool
		patches   []Patch
		wantSends []string
	}{
		{"status then spec", false, Promote(with(with(canary(2, ptr[int32](1)), pauseCondition), paused), false),
			[]string{`status {"status":{"pauseConditions":null}}`, ` {"spec":{"paused":false}}`}},
		{"no status subresource: the fallback alone", true, Promote(with(with(canary(2, ptr[int32](1)), pauseCondition), paused), false),
			[]string{`status {"status":{"pauseConditions":null}}`, ` {"spec":{"paused":false},"status":{"pauseConditions":null}}`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var sends []string
			ro := &v1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "demo"}}
			c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(ro.DeepCopy()).WithStatusSubresource(ro).
				WithInterceptorFuncs(interceptor.Funcs{
					Patch: func(ctx context.Context, c client.WithWatch, obj client.Object, p client.Patch, opts ...client.PatchOption) error {
						body, _ := p.Data(obj)
						sends = append(sends, " "+string(body))
						return c.Patch(ctx, obj, p, opts...)
					},
					SubResourcePatch: func(ctx context.Context, c client.Client, sub string, obj client.Object, p client.Patch, opts ...client.SubResourcePatchOption) error {
						body, _ := p.Data(obj)
						sends = append(sends, sub+" "+string(body))
						if tc.noStatus {
							return apierrors.NewNotFound(schema.GroupResource{Group: "argoproj.io", Resource: "rollouts/status"}, obj.GetName())
						}
						return c.SubResource(sub).Patch(ctx, obj, p, opts...)
					},
				}).Build()
			if err := Send(context.Background(), c, ro, tc.patches); err != nil {
				t.Fatal(err)
			}
			if strings.Join(sends, "\n") != strings.Join(tc.wantSends, "\n") {
				t.Errorf("sent\n%s\nwant\n%s", strings.Join(sends, "\n"), strings.Join(tc.wantSends, "\n"))
			}
		})
	}
}
