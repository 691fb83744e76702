package templates

import (
	"fmt"
	"reflect"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// Request is what a Rollout (or an Experiment) asks of its templates.
type Request struct {
	// Templates to merge, nested ones included.
	Templates []v1alpha1.AnalysisTemplateRef
	// Args are the caller's arguments with their values already resolved
	// (pod template hashes, field paths); they override template args.
	Args []v1alpha1.Argument
	// DryRun and MeasurementRetention are the caller's own rules; they come
	// before the templates' in the run.
	DryRun               []v1alpha1.DryRun
	MeasurementRetention []v1alpha1.MeasurementRetention
	// Caller names where Args, DryRun and MeasurementRetention are written,
	// for errors; empty means "the rollout's analysis".
	Caller string
}

// Build makes the spec of an AnalysisRun from the requested templates:
//   - metrics: those of the namespaced templates, then those of the cluster
//     templates (see Collect for the order); a metric name used twice is an
//     error naming both templates;
//   - args: see mergeArgs;
//   - dryRun and measurementRetention: the request's rules, then the
//     templates'; the same metricName twice is an error;
//
// and then checks that the run could start: every {{args.*}} placeholder
// resolves, the numbers parse and the rules select metrics (see RunMetrics),
// so a broken reference fails here rather than in a run that can only error.
// Templates are copied, never modified.
func Build(req Request, lookup Lookup) (v1alpha1.AnalysisRunSpec, error) {
	ts, err := Collect(req.Templates, lookup)
	if err != nil {
		return v1alpha1.AnalysisRunSpec{}, err
	}
	var spec v1alpha1.AnalysisRunSpec
	if spec.Metrics, err = mergeMetrics(ts); err != nil {
		return v1alpha1.AnalysisRunSpec{}, err
	}
	caller := req.Caller
	if caller == "" {
		caller = "the rollout's analysis"
	}
	if spec.Args, err = mergeArgs(ts, req.Args, caller); err != nil {
		return v1alpha1.AnalysisRunSpec{}, err
	}
	spec.DryRun, err = mergeRules("dryRun", caller, req.DryRun, ts,
		func(s *v1alpha1.AnalysisTemplateSpec) []v1alpha1.DryRun { return s.DryRun },
		func(r v1alpha1.DryRun) string { return r.MetricName })
	if err != nil {
		return v1alpha1.AnalysisRunSpec{}, err
	}
	spec.MeasurementRetention, err = mergeRules("measurementRetention", caller, req.MeasurementRetention, ts,
		func(s *v1alpha1.AnalysisTemplateSpec) []v1alpha1.MeasurementRetention { return s.MeasurementRetention },
		func(r v1alpha1.MeasurementRetention) string { return r.MetricName })
	if err != nil {
		return v1alpha1.AnalysisRunSpec{}, err
	}
	if _, err := RunMetrics(spec); err != nil {
		return v1alpha1.AnalysisRunSpec{}, err
	}
	return spec, nil
}

func mergeMetrics(ts []Template) ([]v1alpha1.Metric, error) {
	var metrics []v1alpha1.Metric
	owner := map[string]Template{}
	for _, t := range ts {
		for _, m := range t.Spec.Metrics {
			if prev, ok := owner[m.Name]; ok {
				if prev.Name == t.Name && prev.ClusterScope == t.ClusterScope {
					return nil, fmt.Errorf("metric %q is defined twice in %s", m.Name, t)
				}
				return nil, fmt.Errorf("metric %q is defined in both %s and %s: metric names must be unique across a run's templates", m.Name, prev, t)
			}
			owner[m.Name] = t
			metrics = append(metrics, *m.DeepCopy())
		}
	}
	return metrics, nil
}

// sourced is a merged argument and the template that supplied it.
type sourced struct {
	arg  v1alpha1.Argument
	from Template
}

// mergeArgs combines the templates' arguments and the caller's:
//   - the same argument in several templates merges into one; a set value
//     (value or valueFrom) is never replaced by an unset one, and two
//     different set values are an error naming the argument and both
//     templates;
//   - a caller argument replaces the value of the template argument of the
//     same name (literal values replace secret references too); caller
//     arguments no template declares are ignored, as in the reference;
//   - an argument still without a value is an error naming the template
//     that requires it.
func mergeArgs(ts []Template, incoming []v1alpha1.Argument, caller string) ([]v1alpha1.Argument, error) {
	var merged []sourced
	index := map[string]int{}
	for _, t := range ts {
		for _, a := range t.Spec.Args {
			i, ok := index[a.Name]
			switch {
			case !ok:
				index[a.Name] = len(merged)
				merged = append(merged, sourced{*a.DeepCopy(), t})
			case !isSet(a):
			case !isSet(merged[i].arg):
				merged[i] = sourced{*a.DeepCopy(), t}
			case !sameValue(merged[i].arg, a):
				return nil, fmt.Errorf("argument %q has different values in %s (%s) and %s (%s)", a.Name, merged[i].from, describeValue(merged[i].arg), t, describeValue(a))
			}
		}
	}
	for _, a := range incoming {
		i, ok := index[a.Name]
		if !ok || !isSet(a) {
			continue
		}
		merged[i].arg = *a.DeepCopy()
		if a.Value != nil {
			merged[i].arg.ValueFrom = nil
		}
	}
	args := make([]v1alpha1.Argument, 0, len(merged))
	for _, s := range merged {
		if !isSet(s.arg) {
			return nil, fmt.Errorf("args.%s was not resolved (template %s: supply it in %s args)", s.arg.Name, s.from.Name, caller)
		}
		args = append(args, s.arg)
	}
	return args, nil
}

func isSet(a v1alpha1.Argument) bool {
	return a.Value != nil || a.ValueFrom != nil
}

func sameValue(a, b v1alpha1.Argument) bool {
	return reflect.DeepEqual(a.Value, b.Value) && reflect.DeepEqual(a.ValueFrom, b.ValueFrom)
}

func describeValue(a v1alpha1.Argument) string {
	switch {
	case a.Value != nil:
		return fmt.Sprintf("%q", *a.Value)
	case a.ValueFrom.SecretKeyRef != nil:
		return fmt.Sprintf("secretKeyRef %s/%s", a.ValueFrom.SecretKeyRef.Name, a.ValueFrom.SecretKeyRef.Key)
	case a.ValueFrom.FieldRef != nil:
		return "fieldRef " + a.ValueFrom.FieldRef.FieldPath
	}
	return "empty valueFrom"
}

// mergeRules concatenates the caller's rules and the templates' and rejects
// a metricName listed twice: two rules for one pattern would silently
// depend on their order.
func mergeRules[T any](field, caller string, own []T, ts []Template, rules func(*v1alpha1.AnalysisTemplateSpec) []T, name func(T) string) ([]T, error) {
	var out []T
	from := map[string]string{}
	add := func(r T, where string) error {
		n := name(r)
		if prev, ok := from[n]; ok {
			if prev == where {
				return fmt.Errorf("%s metricName %q is listed twice by %s", field, n, where)
			}
			return fmt.Errorf("%s metricName %q is listed by both %s and %s", field, n, prev, where)
		}
		from[n] = where
		out = append(out, r)
		return nil
	}
	for _, r := range own {
		if err := add(r, caller); err != nil {
			return nil, err
		}
	}
	for _, t := range ts {
		for _, r := range rules(t.Spec) {
			if err := add(r, t.String()); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}
