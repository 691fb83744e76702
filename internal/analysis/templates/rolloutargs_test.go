package templates

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

func argsRollout() *v1alpha1.Rollout {
	ro := &v1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop",
		Labels: map[string]string{"team": "payments"}, Annotations: map[string]string{"owner": "ana"}}}
	ro.Spec.Replicas = new(int32(4))
	ro.Spec.Template.Spec.Containers = []corev1.Container{{Name: "app", Image: "web:2"}}
	return ro
}

func TestRolloutArgs(t *testing.T) {
	stable, latest := v1alpha1.Stable, v1alpha1.Latest
	bad := v1alpha1.ValueFromPodTemplateHash("Newest")
	field := func(p string) *v1alpha1.ArgumentValueFrom {
		return &v1alpha1.ArgumentValueFrom{FieldRef: &v1alpha1.FieldRef{FieldPath: p}}
	}
	for _, c := range []struct {
		name    string
		arg     v1alpha1.AnalysisRunArgument
		want    string
		wantErr string
	}{
		{"literal", v1alpha1.AnalysisRunArgument{Name: "a", Value: "x"}, "x", ""},
		{"stable hash", v1alpha1.AnalysisRunArgument{Name: "a", ValueFrom: &v1alpha1.ArgumentValueFrom{PodTemplateHashValue: &stable}}, "s1", ""},
		{"latest hash", v1alpha1.AnalysisRunArgument{Name: "a", ValueFrom: &v1alpha1.ArgumentValueFrom{PodTemplateHashValue: &latest}}, "l1", ""},
		{"unknown hash kind", v1alpha1.AnalysisRunArgument{Name: "a", ValueFrom: &v1alpha1.ArgumentValueFrom{PodTemplateHashValue: &bad}}, "", `podTemplateHashValue "Newest" must be Stable or Latest`},
		{"label", v1alpha1.AnalysisRunArgument{Name: "a", ValueFrom: field("metadata.labels['team']")}, "payments", ""},
		{"annotation", v1alpha1.AnalysisRunArgument{Name: "a", ValueFrom: field("metadata.annotations['owner']")}, "ana", ""},
		{"image by path", v1alpha1.AnalysisRunArgument{Name: "a", ValueFrom: field("spec.template.spec.containers[0].image")}, "web:2", ""},
		{"number", v1alpha1.AnalysisRunArgument{Name: "a", ValueFrom: field("spec.replicas")}, "4", ""},
		{"index out of range", v1alpha1.AnalysisRunArgument{Name: "a", ValueFrom: field("spec.template.spec.containers[3].image")}, "", "is not a valid index"},
		{"object, not a value", v1alpha1.AnalysisRunArgument{Name: "a", ValueFrom: field("spec.template")}, "", "does not end at a string"},
		{"missing field", v1alpha1.AnalysisRunArgument{Name: "a", ValueFrom: field("spec.nothing")}, "", "no field nothing"},
	} {
		got, err := RolloutArgs(argsRollout(), []v1alpha1.AnalysisRunArgument{c.arg}, "s1", "l1")
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("%s: error %v, want one containing %q", c.name, err, c.wantErr)
			}
			continue
		}
		if err != nil || len(got) != 1 || got[0].Value == nil || *got[0].Value != c.want {
			t.Errorf("%s: got %v, %v; want %q", c.name, got, err, c.want)
		}
	}
}

// No field path, however malformed, panics the controller.
func FuzzFieldValue(f *testing.F) {
	for _, p := range []string{"metadata.labels['team']", "spec.template.spec.containers[0].image", "spec.replicas",
		"spec.template.spec.containers[", "a[-1]", "metadata.annotations['", "..", "spec.template.spec.containers[0]]"} {
		f.Add(p)
	}
	ro := argsRollout()
	f.Fuzz(func(t *testing.T, path string) {
		_, _ = FieldValue(ro, path)
	})
}
