package canary

import (
	"fmt"
	"maps"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/analysis/templates"
	"github.com/aviary-rollouts/aviary/internal/plan/pass"
	"github.com/aviary-rollouts/aviary/internal/plan/roles"
	"github.com/aviary-rollouts/aviary/internal/plan/rules"
)

// Experiment is what the step decision knows of the current experiment
// step's Experiment.
type Experiment struct {
	Name    string
	Phase   v1alpha1.AnalysisPhase
	Message string
}

// experimentStep decides an experiment step: done when its Experiment
// succeeded; an abort with the Experiment's message when it failed or
// errored; a pause (InconclusiveExperiment) when inconclusive, which
// promote moves past. status.canary.currentExperiment names the Experiment
// while the step waits on it.
func experimentStep(st *v1alpha1.RolloutStatus, obs Observed, p *Progress, now time.Time) (bool, []rules.Event) {
	p.Experiment, p.NewExperiment = true, true
	ex := obs.StepExperiment
	if ex == nil {
		st.Canary.CurrentExperiment = ""
		return false, nil
	}
	st.Canary.CurrentExperiment = ex.Name
	switch ex.Phase {
	case v1alpha1.AnalysisPhaseSuccessful:
		st.Canary.CurrentExperiment = ""
		return true, nil
	case v1alpha1.AnalysisPhaseFailed, v1alpha1.AnalysisPhaseError:
		st.Canary.CurrentExperiment = ""
		cause := ex.Message
		if cause == "" {
			cause = fmt.Sprintf("Experiment %s ended %s", ex.Name, ex.Phase)
		}
		return false, abortFor(st, obs, cause, now)
	case v1alpha1.AnalysisPhaseInconclusive:
		// Named while held, so the promote that resumes finds it.
		done, evs := inconclusive(st, v1alpha1.PauseReasonInconclusiveExperiment, now)
		if done {
			st.Canary.CurrentExperiment = ""
		}
		return done, evs
	}
	return false, nil
}

// experimentBase is the Experiment name of step idx of the new ReplicaSet.
func experimentBase(ro *v1alpha1.Rollout, rs roles.Roles, idx int32) string {
	return pass.ExperimentName(ro.Name, rs.New.Labels[v1alpha1.DefaultRolloutUniqueLabelKey], roles.Revision(rs.New), idx)
}

// experiments creates the current experiment step's Experiment when the
// step asks for one and none exists, and stops and prunes the others: the
// status names the one created. As in Argo Rollouts it waits for a stable
// ReplicaSet, whose template a stable specRef runs.
func experiments(b *pass.Builder, ro *v1alpha1.Rollout, st *v1alpha1.RolloutStatus, p Progress, current *v1alpha1.Experiment, rs roles.Roles) {
	keep := ""
	idx := int32(0)
	if st.CurrentStepIndex != nil {
		idx = *st.CurrentStepIndex
	}
	switch {
	case !p.Experiment:
	case current != nil:
		keep = current.Name
	case p.NewExperiment && rs.Stable != nil && int(idx) < len(ro.Spec.Strategy.Canary.Steps):
		if step := ro.Spec.Strategy.Canary.Steps[idx].Experiment; step != nil {
			ex, err := StepExperiment(ro, step, idx, rs)
			if err != nil {
				b.Invalid(err.Error())
				return
			}
			b.Add(pass.CreateExperiment{Experiment: ex})
			st.Canary.CurrentExperiment = ex.Name
			keep = ex.Name
		}
	}
	b.StopAndPruneExperiments(keep, b.Sets)
}

// StepExperiment builds the Experiment of experiment step idx as Argo
// Rollouts does: named after the Rollout, the new ReplicaSet's hash, its
// revision and the step; the Rollout's labels with the hash, its revision
// annotation, owned by the Rollout; each template the pod template of the
// new (specRef canary) or stable (specRef stable) ReplicaSet with the
// step's metadata and selector, a Service when it has a weight or asks for
// one; the analyses' args resolved against the Rollout (valueFrom
// podTemplateHashValue and fieldRef), placeholders such as
// {{templates.baseline.podTemplateHash}} left to the Experiment.
func StepExperiment(ro *v1alpha1.Rollout, step *v1alpha1.RolloutExperimentStep, idx int32, rs roles.Roles) (*v1alpha1.Experiment, error) {
	hash := rs.New.Labels[v1alpha1.DefaultRolloutUniqueLabelKey]
	stableHash := rs.Stable.Labels[v1alpha1.DefaultRolloutUniqueLabelKey]
	labels := maps.Clone(ro.Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	labels[v1alpha1.DefaultRolloutUniqueLabelKey] = hash
	ex := &v1alpha1.Experiment{
		TypeMeta: metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion.String(), Kind: "Experiment"},
		ObjectMeta: metav1.ObjectMeta{
			Name:            experimentBase(ro, rs, idx),
			Namespace:       ro.Namespace,
			Labels:          labels,
			Annotations:     map[string]string{v1alpha1.RevisionAnnotation: fmt.Sprint(roles.Revision(rs.New))},
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(ro, v1alpha1.GroupVersion.WithKind("Rollout"))},
		},
		Spec: v1alpha1.ExperimentSpec{
			Duration:                step.Duration,
			ProgressDeadlineSeconds: ro.Spec.ProgressDeadlineSeconds,
			ScaleDownDelaySeconds:   step.ScaleDownDelaySeconds,
			DryRun:                  step.DryRun,
			AnalysisRunMetadata:     *step.AnalysisRunMetadata.DeepCopy(),
		},
	}
	for i, t := range step.Templates {
		var from *appsv1.ReplicaSet
		switch t.SpecRef {
		case v1alpha1.CanarySpecRef:
			from = rs.New
		case v1alpha1.StableSpecRef:
			from = rs.Stable
		default:
			return nil, fmt.Errorf("spec.strategy.canary.steps[%d].experiment.templates[%d].specRef: %q must be canary or stable", idx, i, t.SpecRef)
		}
		ex.Spec.Templates = append(ex.Spec.Templates, experimentTemplate(t, from))
	}
	for _, a := range step.Analyses {
		args, err := templates.RolloutArgs(ro, a.Args, stableHash, hash)
		if err != nil {
			return nil, fmt.Errorf("spec.strategy.canary.steps[%d].experiment.analyses[%s]: %w", idx, a.Name, err)
		}
		ex.Spec.Analyses = append(ex.Spec.Analyses, v1alpha1.ExperimentAnalysisTemplateRef{
			Name: a.Name, TemplateName: a.TemplateName, ClusterScope: a.ClusterScope, Args: args, RequiredForCompletion: a.RequiredForCompletion,
		})
	}
	return ex, nil
}

// experimentTemplate is one template of a step's Experiment: the pod
// template, minReadySeconds and selector of from (the step's selector
// instead if it has one), the step's metadata added to the pods and, for
// labels, to the selector.
func experimentTemplate(t v1alpha1.RolloutExperimentTemplate, from *appsv1.ReplicaSet) v1alpha1.TemplateSpec {
	spec := v1alpha1.TemplateSpec{
		Name:            t.Name,
		Replicas:        t.Replicas,
		MinReadySeconds: from.Spec.MinReadySeconds,
		Template:        *from.Spec.Template.DeepCopy(),
		Selector:        from.Spec.Selector.DeepCopy(),
	}
	if t.Selector != nil {
		spec.Selector = t.Selector.DeepCopy()
	}
	if t.Weight != nil || t.Service != nil {
		spec.Service = &v1alpha1.TemplateService{}
		if t.Service != nil {
			spec.Service.Name = t.Service.Name
		}
	}
	if len(t.Metadata.Labels) > 0 {
		if spec.Template.Labels == nil {
			spec.Template.Labels = map[string]string{}
		}
		if spec.Selector == nil {
			spec.Selector = &metav1.LabelSelector{}
		}
		if spec.Selector.MatchLabels == nil {
			spec.Selector.MatchLabels = map[string]string{}
		}
		maps.Copy(spec.Template.Labels, t.Metadata.Labels)
		maps.Copy(spec.Selector.MatchLabels, t.Metadata.Labels)
	}
	if len(t.Metadata.Annotations) > 0 {
		if spec.Template.Annotations == nil {
			spec.Template.Annotations = map[string]string{}
		}
		maps.Copy(spec.Template.Annotations, t.Metadata.Annotations)
	}
	return spec
}

// experimentDestinations are the additional traffic destinations of the
// current experiment step's Experiment while it runs: each template with a
// weight, at the Service and pod-template hash its status reports.
func experimentDestinations(ro *v1alpha1.Rollout, idx *int32, ex *v1alpha1.Experiment) []v1alpha1.WeightDestination {
	steps := ro.Spec.Strategy.Canary.Steps
	if ex == nil || idx == nil || int(*idx) >= len(steps) || steps[*idx].Experiment == nil || ex.Status.Phase != v1alpha1.AnalysisPhaseRunning {
		return nil
	}
	weights := map[string]int32{}
	for _, t := range steps[*idx].Experiment.Templates {
		if t.Weight != nil {
			weights[t.Name] = *t.Weight
		}
	}
	var out []v1alpha1.WeightDestination
	for _, ts := range ex.Status.TemplateStatuses {
		// A template without its Service yet (or without a container
		// port, so without one at all) has nothing to route to.
		if w, ok := weights[ts.Name]; ok && ts.ServiceName != "" {
			out = append(out, v1alpha1.WeightDestination{ServiceName: ts.ServiceName, PodTemplateHash: ts.PodTemplateHash, Weight: w})
		}
	}
	return out
}
