// Package validation checks a Rollout's spec for what the CRD schema cannot
// express. The controller reports the result as the InvalidSpec condition;
// `kubectl argo rollouts lint` will run the same code. Every message names
// the field, the value and what to do.
package validation

import (
	"fmt"
	"slices"

	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// Options are what the controller runs that changes what a spec may say.
type Options struct {
	// GatewayAPIPlugin: argo-rollouts-config lists the
	// argoproj-labs/gatewayAPI plugin, whose binary then routes instead of
	// the built-in router, so its configuration is the plugin's to check.
	GatewayAPIPlugin bool
}

// Rollout returns every problem found in ro's spec, for a controller with
// the Gateway API built in (what `lint` checks against).
func Rollout(ro *v1alpha1.Rollout) field.ErrorList {
	return RolloutWith(ro, Options{})
}

// RolloutWith returns every problem found in ro's spec, for a controller
// running what opts say.
func RolloutWith(ro *v1alpha1.Rollout, opts Options) field.ErrorList {
	spec := field.NewPath("spec")
	var errs field.ErrorList
	errs = append(errs, selector(ro, spec)...)
	s := ro.Spec.Strategy
	switch {
	case s.Canary == nil && s.BlueGreen == nil:
		errs = append(errs, field.Required(spec.Child("strategy"), "set strategy.canary or strategy.blueGreen"))
	case s.Canary != nil && s.BlueGreen != nil:
		errs = append(errs, field.Forbidden(spec.Child("strategy"), "set strategy.canary or strategy.blueGreen, not both"))
	case s.Canary != nil:
		errs = append(errs, canary(ro, spec.Child("strategy", "canary"), opts)...)
	case s.BlueGreen != nil:
		errs = append(errs, blueGreen(ro, spec.Child("strategy", "blueGreen"))...)
	}
	errs = append(errs, promotionEvidence(ro)...)
	return errs
}

func selector(ro *v1alpha1.Rollout, spec *field.Path) field.ErrorList {
	if ro.Spec.WorkloadRef != nil && !ro.Spec.TemplateResolvedFromRef {
		return nil // checked once the referenced workload is resolved
	}
	if ro.Spec.Selector == nil || (len(ro.Spec.Selector.MatchLabels) == 0 && len(ro.Spec.Selector.MatchExpressions) == 0) {
		return field.ErrorList{field.Required(spec.Child("selector"), "a Rollout needs a selector matching its pod template's labels")}
	}
	sel, err := metav1.LabelSelectorAsSelector(ro.Spec.Selector)
	if err != nil {
		return field.ErrorList{field.Invalid(spec.Child("selector"), ro.Spec.Selector, err.Error())}
	}
	if !sel.Matches(labels.Set(ro.Spec.Template.Labels)) {
		return field.ErrorList{field.Invalid(spec.Child("selector"), sel.String(),
			fmt.Sprintf("does not match the template labels %v: make spec.template.metadata.labels satisfy the selector", ro.Spec.Template.Labels))}
	}
	return nil
}

func canary(ro *v1alpha1.Rollout, p *field.Path, opts Options) field.ErrorList {
	c := ro.Spec.Strategy.Canary
	var errs field.ErrorList
	if isZero(c.MaxSurge) && isZero(c.MaxUnavailable) {
		errs = append(errs, field.Invalid(p.Child("maxUnavailable"), c.MaxUnavailable.String(),
			"maxSurge and maxUnavailable cannot both be 0: the rollout could never replace a pod; raise one of them"))
	}
	if c.CanaryService != "" && c.CanaryService == c.StableService {
		errs = append(errs, field.Invalid(p.Child("stableService"), c.StableService,
			"must differ from canaryService: one Service cannot select both versions"))
	}
	routed := c.TrafficRouting != nil
	needsRouting := func(child string, set bool) {
		if set && !routed {
			errs = append(errs, field.Forbidden(p.Child(child), "only applies with trafficRouting; remove it or configure a traffic router"))
		}
	}
	needsRouting("scaleDownDelaySeconds", c.ScaleDownDelaySeconds != nil)
	needsRouting("dynamicStableScale", c.DynamicStableScale)
	needsRouting("minPodsPerReplicaSet", c.MinPodsPerReplicaSet != nil)
	if c.DynamicStableScale && c.ScaleDownDelaySeconds != nil {
		errs = append(errs, field.Forbidden(p.Child("scaleDownDelaySeconds"), "cannot be combined with dynamicStableScale, which scales the stable down as traffic moves"))
	}
	if needsServices(c) && (c.CanaryService == "" || c.StableService == "") {
		errs = append(errs, field.Required(p.Child("stableService"), "trafficRouting needs both canaryService and stableService (or pingPong)"))
	}
	errs = append(errs, trafficRouting(ro, p, opts)...)
	maxW := ro.MaxTrafficWeight()
	var managed []string
	if routed {
		for _, r := range c.TrafficRouting.ManagedRoutes {
			managed = append(managed, r.Name)
		}
	}
	if c.Analysis != nil && len(c.Analysis.Templates) == 0 {
		errs = append(errs, field.Required(p.Child("analysis", "templates"), "name at least one AnalysisTemplate (templateName) or ClusterAnalysisTemplate (clusterScope: true)"))
	}
	for i, step := range c.Steps {
		sp := p.Child("steps").Index(i)
		if step.SetWeight != nil && (*step.SetWeight < 0 || *step.SetWeight > maxW) {
			errs = append(errs, field.Invalid(sp.Child("setWeight"), *step.SetWeight, fmt.Sprintf("must be between 0 and %d (maxTrafficWeight)", maxW)))
		}
		if step.Pause != nil && step.Pause.DurationSeconds() < 0 {
			errs = append(errs, field.Invalid(sp.Child("pause", "duration"), step.Pause.Duration.String(),
				"must be seconds (10) or a duration such as 30s, 5m or 1h; leave it out to pause until promoted"))
		}
		if step.Analysis != nil && len(step.Analysis.Templates) == 0 {
			errs = append(errs, field.Required(sp.Child("analysis", "templates"), "name at least one AnalysisTemplate (templateName) or ClusterAnalysisTemplate (clusterScope: true)"))
		}
		if step.Experiment != nil {
			errs = append(errs, experimentStep(step.Experiment, sp.Child("experiment"), routed, maxW)...)
		}
		if step.SetCanaryScale != nil && !routed {
			errs = append(errs, field.Forbidden(sp.Child("setCanaryScale"), "needs trafficRouting: without a router the canary size is what sets the weight"))
		}
		for _, route := range []struct {
			name, child string
			set         bool
		}{
			{nameOfHeader(step), "setHeaderRoute", step.SetHeaderRoute != nil},
			{nameOfMirror(step), "setMirrorRoute", step.SetMirrorRoute != nil},
		} {
			if route.set && !slices.Contains(managed, route.name) {
				errs = append(errs, field.Invalid(sp.Child(route.child, "name"), route.name,
					"must be listed in spec.strategy.canary.trafficRouting.managedRoutes"))
			}
		}
	}
	return errs
}

// needsServices reports whether the routers configured split traffic
// between the stable and canary Services by name. Istio with a
// DestinationRule splits by subset instead, as does anything with pingPong.
func needsServices(c *v1alpha1.CanaryStrategy) bool {
	tr := c.TrafficRouting
	if tr == nil || c.PingPong != nil {
		return false
	}
	subsetOnlyIstio := tr.Istio != nil && tr.Istio.DestinationRule != nil
	return tr.Nginx != nil || tr.ALB != nil || tr.SMI != nil || tr.Ambassador != nil || tr.AppMesh != nil ||
		tr.Traefik != nil || tr.Apisix != nil || len(tr.Plugins) > 0 || (tr.Istio != nil && !subsetOnlyIstio)
}

func blueGreen(ro *v1alpha1.Rollout, p *field.Path) field.ErrorList {
	bg := ro.Spec.Strategy.BlueGreen
	var errs field.ErrorList
	if bg.ActiveService == "" {
		errs = append(errs, field.Required(p.Child("activeService"), "name the Service that sends users to the active version"))
	}
	if bg.PreviewService != "" && bg.PreviewService == bg.ActiveService {
		errs = append(errs, field.Invalid(p.Child("previewService"), bg.PreviewService,
			"must differ from activeService: one Service cannot select both the active and the preview version"))
	}
	if n := bg.PreviewReplicaCount; n != nil && *n < 1 {
		errs = append(errs, field.Invalid(p.Child("previewReplicaCount"), *n, "must be at least 1; leave it out to run the preview at full size"))
	}
	if bg.AutoPromotionSeconds < 0 {
		errs = append(errs, field.Invalid(p.Child("autoPromotionSeconds"), bg.AutoPromotionSeconds, "must not be negative"))
	}
	for _, f := range []struct {
		name string
		v    *int32
	}{{"scaleDownDelaySeconds", bg.ScaleDownDelaySeconds}, {"abortScaleDownDelaySeconds", bg.AbortScaleDownDelaySeconds}, {"scaleDownDelayRevisionLimit", bg.ScaleDownDelayRevisionLimit}} {
		if f.v != nil && *f.v < 0 {
			errs = append(errs, field.Invalid(p.Child(f.name), *f.v, "must not be negative"))
		}
	}
	for _, a := range []struct {
		name string
		a    *v1alpha1.RolloutAnalysis
	}{{"prePromotionAnalysis", bg.PrePromotionAnalysis}, {"postPromotionAnalysis", bg.PostPromotionAnalysis}} {
		if a.a != nil && len(a.a.Templates) == 0 {
			errs = append(errs, field.Required(p.Child(a.name, "templates"), "name at least one AnalysisTemplate (templateName) or ClusterAnalysisTemplate (clusterScope: true)"))
		}
	}
	return errs
}

func nameOfHeader(s v1alpha1.CanaryStep) string {
	if s.SetHeaderRoute == nil {
		return ""
	}
	return s.SetHeaderRoute.Name
}

func nameOfMirror(s v1alpha1.CanaryStep) string {
	if s.SetMirrorRoute == nil {
		return ""
	}
	return s.SetMirrorRoute.Name
}

// isZero reports a maxSurge/maxUnavailable that resolves to nothing: 0, "0"
// or "0%". Unset fields default to 25%, so they are not zero.
func isZero(v *intstr.IntOrString) bool {
	if v == nil {
		return false
	}
	zero := []intstr.IntOrString{intstr.FromInt32(0), intstr.FromString("0"), intstr.FromString("0%")}
	return slices.ContainsFunc(zero, func(z intstr.IntOrString) bool { return equality.Semantic.DeepEqual(*v, z) })
}
