package templates

import (
	"errors"
	"slices"
	"testing"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

func TestRolloutRefs(t *testing.T) {
	canary := &v1alpha1.Rollout{Spec: v1alpha1.RolloutSpec{Strategy: v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{
		Analysis: &v1alpha1.RolloutAnalysisBackground{RolloutAnalysis: v1alpha1.RolloutAnalysis{Templates: []v1alpha1.AnalysisTemplateRef{nsRef("bg"), nsRef("")}}},
		Steps: []v1alpha1.CanaryStep{
			{SetWeight: new(int32(20))},
			{Analysis: &v1alpha1.RolloutAnalysis{Templates: []v1alpha1.AnalysisTemplateRef{nsRef("a"), clusterRef("c")}}},
			{Experiment: &v1alpha1.RolloutExperimentStep{Analyses: []v1alpha1.RolloutExperimentStepAnalysisTemplateRef{{Name: "x", TemplateName: "exp"}}}},
		},
	}}}}
	blueGreen := &v1alpha1.Rollout{Spec: v1alpha1.RolloutSpec{Strategy: v1alpha1.RolloutStrategy{BlueGreen: &v1alpha1.BlueGreenStrategy{
		PrePromotionAnalysis:  &v1alpha1.RolloutAnalysis{Templates: []v1alpha1.AnalysisTemplateRef{nsRef("pre")}},
		PostPromotionAnalysis: &v1alpha1.RolloutAnalysis{Templates: []v1alpha1.AnalysisTemplateRef{clusterRef("post")}},
	}}}}
	tests := []struct {
		name string
		ro   *v1alpha1.Rollout
		want []Ref
	}{
		{"canary: background, steps and experiments; unnamed left to validation", canary, []Ref{
			{Field: "spec.strategy.canary.analysis.templates[0].templateName", Name: "bg"},
			{Field: "spec.strategy.canary.steps[1].analysis.templates[0].templateName", Name: "a"},
			{Field: "spec.strategy.canary.steps[1].analysis.templates[1].templateName", Name: "c", ClusterScope: true},
			{Field: "spec.strategy.canary.steps[2].experiment.analyses[0].templateName", Name: "exp"},
		}},
		{"blue-green: pre and post", blueGreen, []Ref{
			{Field: "spec.strategy.blueGreen.prePromotionAnalysis.templates[0].templateName", Name: "pre"},
			{Field: "spec.strategy.blueGreen.postPromotionAnalysis.templates[0].templateName", Name: "post", ClusterScope: true},
		}},
		{"no analysis", &v1alpha1.Rollout{Spec: v1alpha1.RolloutSpec{Strategy: v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{}}}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := RolloutRefs(tt.ro); !slices.Equal(got, tt.want) {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestMissing(t *testing.T) {
	nests := func(refs ...v1alpha1.AnalysisTemplateRef) *v1alpha1.AnalysisTemplateSpec {
		return &v1alpha1.AnalysisTemplateSpec{Templates: refs}
	}
	templates := map[string]*v1alpha1.AnalysisTemplateSpec{
		"ok":          {},
		"cluster/ok":  {},
		"parent":      nests(nsRef("ok"), nsRef("gone")),
		"cluster/cp":  nests(clusterRef("ok"), clusterRef("gone")),
		"cycle":       nests(nsRef("cycle2")),
		"cycle2":      nests(nsRef("cycle")),
		"broken-read": nil,
	}
	lookup := func(name string, cluster bool) (*v1alpha1.AnalysisTemplateSpec, error) {
		if name == "broken-read" {
			return nil, errors.New("connection refused")
		}
		if cluster {
			name = "cluster/" + name
		}
		return templates[name], nil
	}
	field := "spec.strategy.canary.analysis.templates[0].templateName"
	tests := []struct {
		name    string
		refs    []Ref
		want    string
		wantErr bool
	}{
		{"all exist", []Ref{{Field: field, Name: "ok"}, {Field: field, Name: "ok", ClusterScope: true}}, "", false},
		{"a cycle of existing templates", []Ref{{Field: field, Name: "cycle"}}, "", false},
		{"missing namespaced", []Ref{{Field: field, Name: "ok"}, {Field: "f2", Name: "x"}},
			`f2: AnalysisTemplate "x" not found in namespace ns; create it or fix the name`, false},
		{"missing cluster", []Ref{{Field: field, Name: "x", ClusterScope: true}},
			field + `: ClusterAnalysisTemplate "x" not found in the cluster; create it or fix the name`, false},
		{"the cluster kind is not the namespaced one", []Ref{{Field: field, Name: "parent", ClusterScope: true}},
			field + `: ClusterAnalysisTemplate "parent" not found in the cluster; create it or fix the name`, false},
		{"missing nested", []Ref{{Field: field, Name: "parent"}},
			field + `: AnalysisTemplate "parent" nests AnalysisTemplate "gone" (its spec.templates[1]), which is not found in namespace ns; create it or fix the name in AnalysisTemplate "parent"`, false},
		{"missing nested cluster", []Ref{{Field: field, Name: "cp", ClusterScope: true}},
			field + `: ClusterAnalysisTemplate "cp" nests ClusterAnalysisTemplate "gone" (its spec.templates[1]), which is not found in the cluster; create it or fix the name in ClusterAnalysisTemplate "cp"`, false},
		{"a read error is not a missing template", []Ref{{Field: field, Name: "broken-read"}}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Missing(tt.refs, "ns", lookup)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("got %q, %v\nwant %q (error %v)", got, err, tt.want, tt.wantErr)
			}
		})
	}
}
