package validation

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

func valid() *v1alpha1.Rollout {
	w := int32(20)
	ro := &v1alpha1.Rollout{}
	ro.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}
	ro.Spec.Template = corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web", "tier": "fe"}}}
	ro.Spec.Strategy.Canary = &v1alpha1.CanaryStrategy{Steps: []v1alpha1.CanaryStep{{SetWeight: &w}, {Pause: &v1alpha1.RolloutPause{}}}}
	return ro
}

func TestRollout(t *testing.T) {
	zero := intstr.FromInt32(0)
	zeroPct := intstr.FromString("0%")
	big, delay := int32(120), int32(30)
	cases := []struct {
		name   string
		mutate func(*v1alpha1.Rollout)
		want   string // substring of the aggregated error; "" means valid
	}{
		{"valid canary", func(*v1alpha1.Rollout) {}, ""},
		{"apisix without a route name", func(ro *v1alpha1.Rollout) {
			ro.Spec.Strategy.Canary.CanaryService, ro.Spec.Strategy.Canary.StableService = "canary", "stable"
			ro.Spec.Strategy.Canary.TrafficRouting = &v1alpha1.RolloutTrafficRouting{Apisix: &v1alpha1.ApisixTrafficRouting{}}
		}, "spec.strategy.canary.trafficRouting.apisix.route.name: Required value: name the ApisixRoute"},
		{"appMesh without nodes", func(ro *v1alpha1.Rollout) {
			ro.Spec.Strategy.Canary.TrafficRouting = &v1alpha1.RolloutTrafficRouting{AppMesh: &v1alpha1.AppMeshTrafficRouting{
				VirtualService: &v1alpha1.AppMeshVirtualService{Name: "web"}, VirtualNodeGroup: &v1alpha1.AppMeshVirtualNodeGroup{}}}
		}, "spec.strategy.canary.trafficRouting.appMesh.virtualNodeGroup.canaryVirtualNodeRef.name: Required value: name the VirtualNode that selects the canary pods"},
		{"appMesh carried out", func(ro *v1alpha1.Rollout) {
			ro.Spec.Strategy.Canary.CanaryService, ro.Spec.Strategy.Canary.StableService = "canary", "stable"
			ro.Spec.Strategy.Canary.TrafficRouting = &v1alpha1.RolloutTrafficRouting{AppMesh: &v1alpha1.AppMeshTrafficRouting{
				VirtualService: &v1alpha1.AppMeshVirtualService{Name: "web"}, VirtualNodeGroup: &v1alpha1.AppMeshVirtualNodeGroup{
					CanaryVirtualNodeRef: &v1alpha1.AppMeshVirtualNodeReference{Name: "web-canary"}, StableVirtualNodeRef: &v1alpha1.AppMeshVirtualNodeReference{Name: "web-stable"}}}}
		}, ""},
		{"apisix and ambassador carried out", func(ro *v1alpha1.Rollout) {
			ro.Spec.Strategy.Canary.CanaryService, ro.Spec.Strategy.Canary.StableService = "canary", "stable"
			ro.Spec.Strategy.Canary.TrafficRouting = &v1alpha1.RolloutTrafficRouting{Apisix: &v1alpha1.ApisixTrafficRouting{Route: &v1alpha1.ApisixRoute{Name: "web"}},
				Ambassador: &v1alpha1.AmbassadorTrafficRouting{Mappings: []string{"web"}}}
		}, ""},
		{"promotion evidence turned off", func(ro *v1alpha1.Rollout) {
			ro.Annotations = map[string]string{"rollouts.aviary.dev/promotion-evidence": "0"}
		}, ""},
		{"promotion evidence not a number", func(ro *v1alpha1.Rollout) {
			ro.Annotations = map[string]string{"rollouts.aviary.dev/promotion-evidence": "off"}
		}, `metadata.annotations[rollouts.aviary.dev/promotion-evidence]: Invalid value: "off": must be a whole number of successful measurements per background metric, from 0 (no evidence required) to 10`},
		{"no strategy", func(ro *v1alpha1.Rollout) { ro.Spec.Strategy.Canary = nil }, "spec.strategy: Required value"},
		{"selector not matching", func(ro *v1alpha1.Rollout) { ro.Spec.Selector.MatchLabels["app"] = "api" }, "spec.selector: Invalid value: \"app=api\": does not match the template labels"},
		{"no selector", func(ro *v1alpha1.Rollout) { ro.Spec.Selector = nil }, "spec.selector: Required value"},
		{"surge and unavailable both zero", func(ro *v1alpha1.Rollout) {
			ro.Spec.Strategy.Canary.MaxSurge, ro.Spec.Strategy.Canary.MaxUnavailable = &zero, &zeroPct
		}, "maxSurge and maxUnavailable cannot both be 0"},
		{"only surge zero is fine", func(ro *v1alpha1.Rollout) { ro.Spec.Strategy.Canary.MaxSurge = &zero }, ""},
		{"same stable and canary service", func(ro *v1alpha1.Rollout) {
			ro.Spec.Strategy.Canary.CanaryService, ro.Spec.Strategy.Canary.StableService = "web", "web"
		}, "spec.strategy.canary.stableService: Invalid value: \"web\": must differ from canaryService"},
		{"weight above 100", func(ro *v1alpha1.Rollout) { ro.Spec.Strategy.Canary.Steps[0].SetWeight = &big }, "spec.strategy.canary.steps[0].setWeight: Invalid value: 120: must be between 0 and 100"},
		{"bad pause duration", func(ro *v1alpha1.Rollout) {
			ro.Spec.Strategy.Canary.Steps[1].Pause.Duration = v1alpha1.DurationFromString("ten minutes")
		}, "spec.strategy.canary.steps[1].pause.duration: Invalid value: \"ten minutes\""},
		{"scaleDownDelaySeconds without routing", func(ro *v1alpha1.Rollout) { ro.Spec.Strategy.Canary.ScaleDownDelaySeconds = &delay }, "spec.strategy.canary.scaleDownDelaySeconds: Forbidden: only applies with trafficRouting"},
		{"setCanaryScale without routing", func(ro *v1alpha1.Rollout) {
			ro.Spec.Strategy.Canary.Steps = append(ro.Spec.Strategy.Canary.Steps, v1alpha1.CanaryStep{SetCanaryScale: &v1alpha1.SetCanaryScale{MatchTrafficWeight: true}})
		}, "spec.strategy.canary.steps[2].setCanaryScale: Forbidden: needs trafficRouting"},
		{"header route not managed", func(ro *v1alpha1.Rollout) {
			ro.Spec.Strategy.Canary.Steps = append(ro.Spec.Strategy.Canary.Steps, v1alpha1.CanaryStep{SetHeaderRoute: &v1alpha1.SetHeaderRoute{Name: "hdr"}})
		}, "spec.strategy.canary.steps[2].setHeaderRoute.name: Invalid value: \"hdr\": must be listed in spec.strategy.canary.trafficRouting.managedRoutes"},
		{"analysis step without templates", func(ro *v1alpha1.Rollout) {
			ro.Spec.Strategy.Canary.Steps = append(ro.Spec.Strategy.Canary.Steps, v1alpha1.CanaryStep{Analysis: &v1alpha1.RolloutAnalysis{}})
		}, "spec.strategy.canary.steps[2].analysis.templates: Required value: name at least one AnalysisTemplate"},
		{"experiment step, Argo Rollouts' documented shape", func(ro *v1alpha1.Rollout) {
			ro.Spec.Strategy.Canary.Steps = append(ro.Spec.Strategy.Canary.Steps, v1alpha1.CanaryStep{Experiment: docExperiment()})
		}, ""},
		{"experiment step without templates", withExperiment(func(ex *v1alpha1.RolloutExperimentStep) { ex.Templates = nil }),
			"spec.strategy.canary.steps[2].experiment.templates: Required value: list at least one template"},
		{"experiment templates named twice", withExperiment(func(ex *v1alpha1.RolloutExperimentStep) { ex.Templates[1].Name = "baseline" }),
			`spec.strategy.canary.steps[2].experiment.templates[1].name: Duplicate value: "baseline"`},
		{"experiment template unnamed", withExperiment(func(ex *v1alpha1.RolloutExperimentStep) { ex.Templates[0].Name = "" }),
			"spec.strategy.canary.steps[2].experiment.templates[0].name: Required value"},
		{"experiment template name not a label", withExperiment(func(ex *v1alpha1.RolloutExperimentStep) { ex.Templates[0].Name = "Base_Line" }),
			`spec.strategy.canary.steps[2].experiment.templates[0].name: Invalid value: "Base_Line"`},
		{"experiment specRef unknown", withExperiment(func(ex *v1alpha1.RolloutExperimentStep) { ex.Templates[0].SpecRef = "preview" }),
			`spec.strategy.canary.steps[2].experiment.templates[0].specRef: Unsupported value: "preview": supported values: "canary", "stable"`},
		{"experiment negative replicas", withExperiment(func(ex *v1alpha1.RolloutExperimentStep) { ex.Templates[0].Replicas = new(int32(-1)) }),
			"spec.strategy.canary.steps[2].experiment.templates[0].replicas: Invalid value: -1: must not be negative"},
		{"experiment weight without routing", withExperiment(func(ex *v1alpha1.RolloutExperimentStep) { ex.Templates[1].Weight = new(int32(10)) }),
			"spec.strategy.canary.steps[2].experiment.templates[1].weight: Forbidden: Experiment template weight requires traffic routing"},
		{"experiment bad duration", withExperiment(func(ex *v1alpha1.RolloutExperimentStep) { ex.Duration = "an hour" }),
			`spec.strategy.canary.steps[2].experiment.duration: Invalid value: "an hour": must be a duration such as 30s`},
		{"experiment analysis unnamed", withExperiment(func(ex *v1alpha1.RolloutExperimentStep) { ex.Analyses[0].Name = "" }),
			"spec.strategy.canary.steps[2].experiment.analyses[0].name: Required value"},
		{"experiment analysis without template", withExperiment(func(ex *v1alpha1.RolloutExperimentStep) { ex.Analyses[0].TemplateName = "" }),
			"spec.strategy.canary.steps[2].experiment.analyses[0].templateName: Required value"},
		{"experiment analyses named twice", withExperiment(func(ex *v1alpha1.RolloutExperimentStep) { ex.Analyses = append(ex.Analyses, ex.Analyses[0]) }),
			`spec.strategy.canary.steps[2].experiment.analyses[1].name: Duplicate value: "compare"`},
		{"experiment arg hash value unknown", withExperiment(func(ex *v1alpha1.RolloutExperimentStep) {
			v := v1alpha1.ValueFromPodTemplateHash("Canary")
			ex.Analyses[0].Args = append(ex.Analyses[0].Args, v1alpha1.AnalysisRunArgument{Name: "h", ValueFrom: &v1alpha1.ArgumentValueFrom{PodTemplateHashValue: &v}})
		}), `spec.strategy.canary.steps[2].experiment.analyses[0].args[2].valueFrom.podTemplateHashValue: Unsupported value: "Canary"`},
		{"blue-green", func(ro *v1alpha1.Rollout) {
			ro.Spec.Strategy.Canary = nil
			ro.Spec.Strategy.BlueGreen = &v1alpha1.BlueGreenStrategy{ActiveService: "active", PreviewService: "preview"}
		}, ""},
		{"blue-green without active service", func(ro *v1alpha1.Rollout) {
			ro.Spec.Strategy.Canary = nil
			ro.Spec.Strategy.BlueGreen = &v1alpha1.BlueGreenStrategy{}
		}, "spec.strategy.blueGreen.activeService: Required value"},
		{"blue-green same services", func(ro *v1alpha1.Rollout) {
			ro.Spec.Strategy.Canary = nil
			ro.Spec.Strategy.BlueGreen = &v1alpha1.BlueGreenStrategy{ActiveService: "web", PreviewService: "web"}
		}, `spec.strategy.blueGreen.previewService: Invalid value: "web": must differ from activeService`},
		{"blue-green preview count zero", func(ro *v1alpha1.Rollout) {
			ro.Spec.Strategy.Canary = nil
			ro.Spec.Strategy.BlueGreen = &v1alpha1.BlueGreenStrategy{ActiveService: "web", PreviewReplicaCount: new(int32(0))}
		}, "spec.strategy.blueGreen.previewReplicaCount: Invalid value: 0: must be at least 1"},
		{"blue-green analysis without templates", func(ro *v1alpha1.Rollout) {
			ro.Spec.Strategy.Canary = nil
			ro.Spec.Strategy.BlueGreen = &v1alpha1.BlueGreenStrategy{ActiveService: "web", PostPromotionAnalysis: &v1alpha1.RolloutAnalysis{}}
		}, "spec.strategy.blueGreen.postPromotionAnalysis.templates: Required value"},
		{"both strategies", func(ro *v1alpha1.Rollout) {
			ro.Spec.Strategy.BlueGreen = &v1alpha1.BlueGreenStrategy{ActiveService: "web"}
		}, "spec.strategy: Forbidden: set strategy.canary or strategy.blueGreen, not both"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ro := valid()
			c.mutate(ro)
			errs := Rollout(ro)
			switch {
			case c.want == "" && len(errs) > 0:
				t.Fatalf("want valid, got %v", errs.ToAggregate())
			case c.want != "" && (len(errs) == 0 || !strings.Contains(errs.ToAggregate().Error(), c.want)):
				t.Fatalf("want an error containing %q, got %v", c.want, errs.ToAggregate())
			}
		})
	}
}

// docExperiment is the experiment step Argo Rollouts documents: a baseline
// on the stable template, a canary on the new one, an analysis comparing
// the two by their pod-template hashes.
func docExperiment() *v1alpha1.RolloutExperimentStep {
	return &v1alpha1.RolloutExperimentStep{
		Duration: "1h",
		Templates: []v1alpha1.RolloutExperimentTemplate{
			{Name: "baseline", SpecRef: v1alpha1.StableSpecRef},
			{Name: "canary", SpecRef: v1alpha1.CanarySpecRef},
		},
		Analyses: []v1alpha1.RolloutExperimentStepAnalysisTemplateRef{{Name: "compare", TemplateName: "mann-whitney", Args: []v1alpha1.AnalysisRunArgument{
			{Name: "baseline-hash", Value: "{{templates.baseline.podTemplateHash}}"},
			{Name: "canary-hash", Value: "{{templates.canary.podTemplateHash}}"},
		}}},
	}
}

// withExperiment appends the documented experiment step, changed by f.
func withExperiment(f func(*v1alpha1.RolloutExperimentStep)) func(*v1alpha1.Rollout) {
	return func(ro *v1alpha1.Rollout) {
		ex := docExperiment()
		f(ex)
		ro.Spec.Strategy.Canary.Steps = append(ro.Spec.Strategy.Canary.Steps, v1alpha1.CanaryStep{Experiment: ex})
	}
}
