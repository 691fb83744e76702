package validation

import (
	"fmt"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// experimentStep checks a canary experiment step: what its Experiment
// needs to be created and to run (templates named once each, from the
// canary or stable pod template; analyses named once each with a template;
// a duration the Experiment can parse) and that template weights have a
// router to carry them (which router can is checked with the routers).
func experimentStep(ex *v1alpha1.RolloutExperimentStep, p *field.Path, routed bool, maxW int32) field.ErrorList {
	var errs field.ErrorList
	if len(ex.Templates) == 0 {
		errs = append(errs, field.Required(p.Child("templates"), "list at least one template (name and specRef: canary or stable) for the experiment to run"))
	}
	var names []string
	for i, t := range ex.Templates {
		tp := p.Child("templates").Index(i)
		switch {
		case t.Name == "":
			errs = append(errs, field.Required(tp.Child("name"), "name the template; its ReplicaSet and Service are named after it"))
		case slices.Contains(names, t.Name):
			errs = append(errs, field.Duplicate(tp.Child("name"), t.Name))
		default:
			for _, msg := range validation.IsDNS1123Label(t.Name) {
				errs = append(errs, field.Invalid(tp.Child("name"), t.Name, msg+": the template's ReplicaSet and Service are named after it"))
			}
		}
		names = append(names, t.Name)
		if t.SpecRef != v1alpha1.CanarySpecRef && t.SpecRef != v1alpha1.StableSpecRef {
			errs = append(errs, field.NotSupported(tp.Child("specRef"), t.SpecRef, []string{string(v1alpha1.CanarySpecRef), string(v1alpha1.StableSpecRef)}))
		}
		if t.Replicas != nil && *t.Replicas < 0 {
			errs = append(errs, field.Invalid(tp.Child("replicas"), *t.Replicas, "must not be negative"))
		}
		if t.Selector != nil {
			if _, err := metav1.LabelSelectorAsSelector(t.Selector); err != nil {
				errs = append(errs, field.Invalid(tp.Child("selector"), t.Selector, err.Error()))
			}
		}
		if t.Weight == nil {
			continue
		}
		if !routed {
			errs = append(errs, field.Forbidden(tp.Child("weight"),
				"Experiment template weight requires traffic routing: configure spec.strategy.canary.trafficRouting (istio, smi or the Gateway API), or remove the weight"))
		}
		if *t.Weight < 0 || *t.Weight > maxW {
			errs = append(errs, field.Invalid(tp.Child("weight"), *t.Weight, fmt.Sprintf("must be between 0 and %d (maxTrafficWeight)", maxW)))
		}
	}
	if ex.Duration != "" {
		if d, err := ex.Duration.Duration(); err != nil || d < 0 {
			errs = append(errs, field.Invalid(p.Child("duration"), string(ex.Duration), "must be a duration such as 30s, 5m or 1h; leave it out to run until the analyses finish"))
		}
	}
	if ex.ScaleDownDelaySeconds != nil && *ex.ScaleDownDelaySeconds < 0 {
		errs = append(errs, field.Invalid(p.Child("scaleDownDelaySeconds"), *ex.ScaleDownDelaySeconds, "must not be negative"))
	}
	var analyses []string
	for i, a := range ex.Analyses {
		ap := p.Child("analyses").Index(i)
		switch {
		case a.Name == "":
			errs = append(errs, field.Required(ap.Child("name"), "name the analysis; its AnalysisRun is named after it"))
		case slices.Contains(analyses, a.Name):
			errs = append(errs, field.Duplicate(ap.Child("name"), a.Name))
		}
		analyses = append(analyses, a.Name)
		if a.TemplateName == "" {
			errs = append(errs, field.Required(ap.Child("templateName"), "name the AnalysisTemplate (or ClusterAnalysisTemplate with clusterScope: true) to run"))
		}
		for j, arg := range a.Args {
			if f := arg.ValueFrom; f != nil && f.PodTemplateHashValue != nil && *f.PodTemplateHashValue != v1alpha1.Stable && *f.PodTemplateHashValue != v1alpha1.Latest {
				errs = append(errs, field.NotSupported(ap.Child("args").Index(j).Child("valueFrom", "podTemplateHashValue"), *f.PodTemplateHashValue,
					[]string{string(v1alpha1.Stable), string(v1alpha1.Latest)}))
			}
		}
	}
	return errs
}
