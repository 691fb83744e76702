package experiment

import (
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// Validate returns what is wrong with the Experiment's spec, each problem
// naming the field, the value and the fix, or nothing. It checks what
// Argo Rollouts checks (a selector per template, not selecting
// everything, minReadySeconds within the progress deadline, template names
// present and unique) and what would otherwise fail later, less clearly:
// no templates, a selector that does not select the template's pods,
// names that make invalid object names, a bad duration, negative counts,
// analyses without a name or template, and args with unknown placeholders.
func Validate(ex *v1alpha1.Experiment) []string {
	var errs []string
	add := func(format string, a ...any) { errs = append(errs, fmt.Sprintf(format, a...)) }
	spec := &ex.Spec
	deadline := progressDeadline(ex)
	if len(spec.Templates) == 0 {
		add("spec.templates: Required value: an Experiment runs at least one template; add one")
	}
	if spec.ProgressDeadlineSeconds != nil && *spec.ProgressDeadlineSeconds <= 0 {
		add("spec.progressDeadlineSeconds: Invalid value: %d: must be greater than 0 (default %d)", *spec.ProgressDeadlineSeconds, v1alpha1.DefaultProgressDeadlineSeconds)
	}
	if spec.ScaleDownDelaySeconds != nil && *spec.ScaleDownDelaySeconds < 0 {
		add("spec.scaleDownDelaySeconds: Invalid value: %d: must be 0 or more (default %d)", *spec.ScaleDownDelaySeconds, v1alpha1.DefaultScaleDownDelaySeconds)
	}
	if spec.Duration != "" {
		if d, err := spec.Duration.Duration(); err != nil || d <= 0 {
			add("spec.duration: Invalid value: %q: must be a positive duration such as 30s, 5m or 1h, or empty to run until the required analyses finish", spec.Duration)
		}
	}
	names := map[string]bool{}
	for i, t := range spec.Templates {
		f := fmt.Sprintf("spec.templates[%d]", i)
		switch {
		case t.Name == "":
			add("%s.name: Required value: Experiment %s has empty template name at index %d", f, ex.Name, i)
		case names[t.Name]:
			add("%s.name: Duplicate value: Experiment %s has repeated template name '%s' in templates; template names must be unique", f, ex.Name, t.Name)
		default:
			for _, m := range validation.IsDNS1123Subdomain(ReplicaSetName(ex.Name, t.Name)) {
				add("%s.name: Invalid value: %q: the ReplicaSet name %q is not valid: %s; shorten or rename the template", f, t.Name, ReplicaSetName(ex.Name, t.Name), m)
			}
		}
		names[t.Name] = true
		if t.Replicas != nil && *t.Replicas < 0 {
			add("%s.replicas: Invalid value: %d: must be 0 or more", f, *t.Replicas)
		}
		if t.MinReadySeconds > deadline {
			add("%s.minReadySeconds: Invalid value: %d: MinReadySeconds cannot be longer than ProgressDeadlineSeconds (%d). Check template index %d", f, t.MinReadySeconds, deadline, i)
		}
		validateSelector(f, t, add)
		if t.Service != nil && t.Service.Name != "" {
			for _, m := range validation.IsDNS1035Label(t.Service.Name) {
				add("%s.service.name: Invalid value: %q: %s", f, t.Service.Name, m)
			}
		}
	}
	analyses := map[string]bool{}
	stand := standInValues(ex)
	for i, a := range spec.Analyses {
		f := fmt.Sprintf("spec.analyses[%d]", i)
		switch {
		case a.Name == "":
			add("%s.name: Required value: name the analysis", f)
		case analyses[a.Name]:
			add("%s.name: Duplicate value: %q: analysis names must be unique", f, a.Name)
		default:
			for _, m := range validation.IsDNS1123Subdomain(RunName(ex.Name, a.Name)) {
				add("%s.name: Invalid value: %q: the AnalysisRun name %q is not valid: %s", f, a.Name, RunName(ex.Name, a.Name), m)
			}
		}
		analyses[a.Name] = true
		if a.TemplateName == "" {
			add("%s.templateName: Required value: name the AnalysisTemplate (or, with clusterScope: true, the ClusterAnalysisTemplate) to run", f)
		}
		for j, arg := range a.Args {
			if arg.Value == nil {
				continue
			}
			if _, err := resolveString(*arg.Value, stand); err != nil {
				add("%s.args[%d].value: Invalid value: %q: %v; use {{templates.<template>.podTemplateHash}}, {{templates.<template>.replicaset.name}}, {{experiment.availableAt}} or, with a duration, {{experiment.finishedAt}}", f, j, *arg.Value, err)
			}
		}
	}
	return errs
}

func validateSelector(f string, t v1alpha1.TemplateSpec, add func(string, ...any)) {
	if t.Selector == nil {
		add("%s.selector: Required value: set a selector matching the template's labels", f)
		return
	}
	if len(t.Selector.MatchLabels) == 0 && len(t.Selector.MatchExpressions) == 0 {
		add("%s.selector: Invalid value: {}: this experiment template selects all pods; a non-empty selector is required", f)
		return
	}
	sel, err := metav1.LabelSelectorAsSelector(t.Selector)
	if err != nil {
		add("%s.selector: Invalid value: %v", f, err)
		return
	}
	if !sel.Matches(labels.Set(t.Template.Labels)) {
		add("%s.selector: Invalid value: %q: does not match %s.template.metadata.labels (%s); make the selector select the template's labels",
			f, sel.String(), f, labels.Set(t.Template.Labels).String())
	}
}

// standInValues are placeholder values for checking args before any
// ReplicaSet exists: every template's placeholders, availableAt, and
// finishedAt when there is a duration.
func standInValues(ex *v1alpha1.Experiment) map[string]string {
	byTemplate := map[string]*appsv1.ReplicaSet{}
	for _, t := range ex.Spec.Templates {
		rs := &appsv1.ReplicaSet{}
		rs.Name = ReplicaSetName(ex.Name, t.Name)
		rs.Labels = map[string]string{v1alpha1.DefaultRolloutUniqueLabelKey: "hash"}
		byTemplate[t.Name] = rs
	}
	at := metav1.Unix(0, 0)
	return ArgValues(ex, byTemplate, &at)
}

// invalidMessage joins the problems into the Experiment's message.
func invalidMessage(errs []string) string {
	return "The Experiment spec is invalid: " + strings.Join(errs, "; ")
}

func progressDeadline(ex *v1alpha1.Experiment) int32 {
	if ex.Spec.ProgressDeadlineSeconds != nil {
		return *ex.Spec.ProgressDeadlineSeconds
	}
	return v1alpha1.DefaultProgressDeadlineSeconds
}

func scaleDownDelay(ex *v1alpha1.Experiment) int32 {
	if ex.Spec.ScaleDownDelaySeconds != nil {
		return *ex.Spec.ScaleDownDelaySeconds
	}
	return v1alpha1.DefaultScaleDownDelaySeconds
}
