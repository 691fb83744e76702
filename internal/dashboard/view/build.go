package view

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/analysis/judge"
	"github.com/aviary-rollouts/aviary/internal/analysis/templates"
	"github.com/aviary-rollouts/aviary/internal/clientside/tree"
)

// Step states.
const (
	StepDone    = "done"
	StepCurrent = "current"
	StepPending = "pending"
)

// NewSummary builds the list entry of ro from ro and the ReplicaSets it
// owns, which objs must hold (the namespace's will do; pods, runs and
// Experiments are not read). The list watch relies on this: it rebuilds
// a row only when the Rollout or one of its ReplicaSets changed.
func NewSummary(ro *v1alpha1.Rollout, objs tree.Objects) Summary {
	return summary(ro, tree.NewRollout(ro, objs))
}

func summary(ro *v1alpha1.Rollout, t *tree.Rollout) Summary {
	s := Summary{
		Name:         ro.Name,
		Namespace:    ro.Namespace,
		Created:      ro.CreationTimestamp.Time,
		Status:       t.Status,
		Message:      t.Message,
		Strategy:     t.Strategy,
		SetWeight:    t.SetWeight,
		ActualWeight: t.ActualWeight,
		Desired:      t.Desired,
		Current:      t.Current,
		Updated:      t.Updated,
		Ready:        t.Ready,
		Available:    t.Available,
		Images:       images(ro.Spec.Template.Spec),
	}
	if c := ro.Spec.Strategy.Canary; c != nil {
		s.StepCount = len(c.Steps)
		if len(c.Steps) > 0 && ro.Status.CurrentStepIndex != nil {
			i := *ro.Status.CurrentStepIndex
			s.StepIndex = &i
		}
	}
	s.Attention = attention(ro, t.Status, t.Message)
	s.Actions = actions(ro)
	return s
}

// NewDetail builds the page of ro from the namespace's objects.
func NewDetail(ro *v1alpha1.Rollout, objs tree.Objects) Detail {
	t := tree.NewRollout(ro, objs)
	d := Detail{
		Summary:    summary(ro, t),
		Containers: containers(ro.Spec.Template.Spec),
		Revisions:  revisions(ro, t),
	}
	for i := range objs.AnalysisRuns {
		run := &objs.AnalysisRuns[i]
		if owned(run.OwnerReferences, ro.UID) {
			d.AnalysisRuns = append(d.AnalysisRuns, analysisRun(run))
		}
	}
	// The runs of the rollout's Experiments are listed with the rollout's,
	// under the Experiment's revision.
	for i := range objs.Experiments {
		exp := &objs.Experiments[i]
		if !owned(exp.OwnerReferences, ro.UID) {
			continue
		}
		rev, _ := strconv.Atoi(exp.Annotations[v1alpha1.RevisionAnnotation])
		for j := range objs.AnalysisRuns {
			run := &objs.AnalysisRuns[j]
			if owned(run.OwnerReferences, exp.UID) {
				ar := analysisRun(run)
				ar.Experiment, ar.Revision = exp.Name, rev
				d.AnalysisRuns = append(d.AnalysisRuns, ar)
			}
		}
	}
	// Newest first, as `get rollout` lists them.
	slices.SortStableFunc(d.AnalysisRuns, func(a, b AnalysisRun) int {
		return cmp.Or(b.Revision-a.Revision, b.Created.Compare(a.Created), strings.Compare(a.Name, b.Name))
	})
	if ro.Spec.Strategy.Canary != nil {
		d.Steps = steps(ro, d.AnalysisRuns, d.Revisions)
	}
	if d.AnalysisRuns == nil {
		d.AnalysisRuns = []AnalysisRun{}
	}
	return d
}

func owned(refs []metav1.OwnerReference, uid types.UID) bool {
	return slices.ContainsFunc(refs, func(r metav1.OwnerReference) bool { return r.UID == uid })
}

func images(spec corev1.PodSpec) []string {
	var out []string
	for _, c := range spec.Containers {
		if !slices.Contains(out, c.Image) {
			out = append(out, c.Image)
		}
	}
	return out
}

func containers(spec corev1.PodSpec) []Container {
	out := []Container{}
	for _, c := range spec.InitContainers {
		out = append(out, Container{Name: c.Name, Image: c.Image, Init: true})
	}
	for _, c := range spec.Containers {
		out = append(out, Container{Name: c.Name, Image: c.Image})
	}
	return out
}

// updating tells whether the rollout is moving to a template that is not
// yet stable: the time Promote and Abort mean something.
func updating(ro *v1alpha1.Rollout) bool {
	st := ro.Status
	if st.CurrentPodHash == "" {
		return false
	}
	if ro.Spec.Strategy.BlueGreen != nil && st.BlueGreen.ActiveSelector != st.CurrentPodHash {
		return true
	}
	return st.StableRS != st.CurrentPodHash
}

func actions(ro *v1alpha1.Rollout) Actions {
	up := updating(ro)
	aborted := ro.Status.Abort
	return Actions{
		Promote:     up && !aborted,
		PromoteFull: up,
		Abort:       up && !aborted,
		Retry:       aborted,
		Restart:     true,
		Pause:       !ro.Spec.Paused && !aborted,
	}
}

// attention says why a rollout needs a person: it is Degraded or in an
// unknown state, or it is paused somewhere other than a pause step (by a
// user, or by an inconclusive analysis).
func attention(ro *v1alpha1.Rollout, status, message string) string {
	switch status {
	case string(v1alpha1.RolloutPhaseDegraded), "Error", "InvalidSpec":
		if message != "" {
			return status + ": " + message
		}
		return status
	case string(v1alpha1.RolloutPhaseHealthy), string(v1alpha1.RolloutPhaseProgressing), string(v1alpha1.RolloutPhasePaused), "ScaledDown":
	default:
		return "status unknown"
	}
	if ro.Spec.Paused {
		return "paused by a user (spec.paused); promote to resume"
	}
	for _, c := range ro.Status.PauseConditions {
		switch c.Reason {
		case v1alpha1.PauseReasonCanaryPauseStep, v1alpha1.PauseReasonBlueGreenPause:
		default:
			return "paused: " + string(c.Reason)
		}
	}
	return ""
}

func revisions(ro *v1alpha1.Rollout, t *tree.Rollout) []Revision {
	byNumber := map[int]*Revision{}
	var out []*Revision
	revision := func(n int) *Revision {
		r := byNumber[n]
		if r == nil {
			r = &Revision{Number: n, ReplicaSets: []tree.ReplicaSet{}}
			byNumber[n] = r
			out = append(out, r)
		}
		return r
	}
	for _, rs := range t.ReplicaSets {
		r := revision(rs.Revision)
		r.ReplicaSets = append(r.ReplicaSets, rs)
		for _, img := range rs.Images {
			if !slices.Contains(r.Images, img) {
				r.Images = append(r.Images, img)
			}
		}
	}
	for _, run := range t.AnalysisRuns {
		if r := byNumber[run.Revision]; r != nil {
			r.AnalysisRuns = append(r.AnalysisRuns, run.Name)
		}
	}
	for _, e := range t.Experiments {
		x := Experiment{Name: e.Name, Created: e.Created, Status: e.Status, Message: e.Message,
			StepIndex: experimentStep(ro, e.Name, e.Revision), ReplicaSets: e.ReplicaSets}
		if x.Status == "" {
			x.Status = string(v1alpha1.AnalysisPhasePending)
		}
		if x.ReplicaSets == nil {
			x.ReplicaSets = []tree.ReplicaSet{}
		}
		for _, run := range e.AnalysisRuns {
			x.AnalysisRuns = append(x.AnalysisRuns, run.Name)
		}
		// An Experiment outlives no revision of its own, but one whose
		// ReplicaSet is gone still shows under its number.
		r := revision(e.Revision)
		r.Experiments = append(r.Experiments, x)
	}
	slices.SortFunc(out, func(a, b *Revision) int { return b.Number - a.Number })
	res := make([]Revision, 0, len(out))
	for i, r := range out {
		r.Current = i == 0
		res = append(res, *r)
	}
	return res
}

// experimentStep is the step that started the Experiment name of
// revision rev: the rollout controller names it
// <rollout>-<pod-template-hash>-<revision>-<step index>. Nil when the name
// is not of that form.
func experimentStep(ro *v1alpha1.Rollout, name string, rev int) *int32 {
	rest, ok := strings.CutPrefix(name, ro.Name+"-")
	if !ok {
		return nil
	}
	i := strings.LastIndexByte(rest, '-')
	if i < 0 || !strings.HasSuffix(rest[:i], "-"+strconv.Itoa(rev)) {
		return nil
	}
	step, err := strconv.ParseInt(rest[i+1:], 10, 32)
	if err != nil || step < 0 {
		return nil
	}
	s := int32(step)
	return &s
}

func steps(ro *v1alpha1.Rollout, runs []AnalysisRun, revs []Revision) []Step {
	c := ro.Spec.Strategy.Canary
	current := -1
	if ro.Status.CurrentStepIndex != nil {
		current = int(*ro.Status.CurrentStepIndex)
	}
	latest := 0
	if len(runs) > 0 {
		latest = slices.MaxFunc(runs, func(a, b AnalysisRun) int { return a.Revision - b.Revision }).Revision
	}
	out := make([]Step, 0, len(c.Steps))
	for i, st := range c.Steps {
		s := stepText(i, st)
		switch {
		case i < current:
			s.State = StepDone
		case i == current:
			s.State = StepCurrent
		default:
			s.State = StepPending
		}
		if st.Analysis != nil {
			for _, run := range runs {
				if run.Revision == latest && run.Type == v1alpha1.RolloutTypeStepLabel && run.StepIndex != nil && int(*run.StepIndex) == i {
					s.AnalysisRun = run.Name
					break
				}
			}
		}
		if st.Experiment != nil && len(revs) > 0 {
			for _, e := range revs[0].Experiments {
				if e.StepIndex != nil && int(*e.StepIndex) == i {
					s.Experiment, s.ExperimentStatus = e.Name, e.Status
				}
			}
		}
		out = append(out, s)
	}
	return out
}

func stepText(i int, st v1alpha1.CanaryStep) Step {
	s := Step{Index: i}
	switch {
	case st.SetWeight != nil:
		s.Kind, s.Text = "setWeight", fmt.Sprintf("Set weight %d%%", *st.SetWeight)
	case st.Pause != nil:
		s.Kind, s.Text = "pause", "Pause until promoted"
		if d := st.Pause.Duration; d != nil {
			s.Text = "Pause " + intOrString(d, "s")
		}
	case st.Analysis != nil:
		s.Kind = "analysis"
		s.Text, s.Details = analysisText(st.Analysis.Templates, st.Analysis.Args)
	case st.Experiment != nil:
		s.Kind, s.Text = "experiment", "Experiment"
		if st.Experiment.Duration != "" {
			s.Text += " for " + string(st.Experiment.Duration)
		}
		for _, t := range st.Experiment.Templates {
			s.Details = append(s.Details, fmt.Sprintf("template %s (spec ref %s)", t.Name, t.SpecRef))
		}
		for _, a := range st.Experiment.Analyses {
			s.Details = append(s.Details, "analysis "+a.Name+": "+a.TemplateName)
		}
	case st.SetCanaryScale != nil:
		s.Kind, s.Text = "setCanaryScale", "Set canary scale"
		switch sc := st.SetCanaryScale; {
		case sc.Replicas != nil:
			s.Text += fmt.Sprintf(": %d replicas", *sc.Replicas)
		case sc.Weight != nil:
			s.Text += fmt.Sprintf(": %d%%", *sc.Weight)
		case sc.MatchTrafficWeight:
			s.Text += ": match traffic weight"
		}
	case st.SetHeaderRoute != nil:
		s.Kind, s.Text = "setHeaderRoute", "Header route "+st.SetHeaderRoute.Name
		if len(st.SetHeaderRoute.Match) == 0 {
			s.Text += " (removed)"
		}
	case st.SetMirrorRoute != nil:
		s.Kind, s.Text = "setMirrorRoute", "Mirror route "+st.SetMirrorRoute.Name
		if p := st.SetMirrorRoute.Percentage; p != nil {
			s.Text += fmt.Sprintf(" (%d%%)", *p)
		}
	case st.Plugin != nil:
		s.Kind, s.Text = "plugin", "Plugin "+st.Plugin.Name
	default:
		s.Kind, s.Text = "unknown", "Empty step"
	}
	return s
}

// analysisText names an analysis step's templates and lists its
// arguments; values from the Rollout are described, not resolved.
func analysisText(refs []v1alpha1.AnalysisTemplateRef, args []v1alpha1.AnalysisRunArgument) (string, []string) {
	var names, details []string
	for _, t := range refs {
		kind := "AnalysisTemplate"
		if t.ClusterScope != nil && *t.ClusterScope {
			kind = "ClusterAnalysisTemplate"
		}
		names = append(names, t.TemplateName)
		details = append(details, kind+" "+t.TemplateName)
	}
	for _, a := range args {
		v := a.Value
		if f := a.ValueFrom; f != nil {
			switch {
			case f.PodTemplateHashValue != nil:
				v = "(" + string(*f.PodTemplateHashValue) + " pod template hash)"
			case f.FieldRef != nil:
				v = "(field " + f.FieldRef.FieldPath + ")"
			}
		}
		details = append(details, "arg "+a.Name+" = "+v)
	}
	return "Analysis " + strings.Join(names, ", "), details
}

func intOrString(v *intstr.IntOrString, unit string) string {
	if v.Type == intstr.Int {
		return strconv.Itoa(v.IntValue()) + unit
	}
	return v.StrVal
}

func analysisRun(run *v1alpha1.AnalysisRun) AnalysisRun {
	out := AnalysisRun{
		Name:    run.Name,
		Created: run.CreationTimestamp.Time,
		Status:  string(run.Status.Phase),
		Message: run.Status.Message,
		Type:    run.Labels[v1alpha1.RolloutTypeLabel],
		Metrics: []Metric{},
	}
	if out.Status == "" {
		out.Status = string(v1alpha1.AnalysisPhasePending)
	}
	if r, err := strconv.Atoi(run.Annotations[v1alpha1.RevisionAnnotation]); err == nil {
		out.Revision = r
	}
	if i, err := strconv.ParseInt(run.Labels[v1alpha1.RolloutCanaryStepIndexLabel], 10, 32); err == nil {
		idx := int32(i)
		out.StepIndex = &idx
	}
	judgements := tree.Judgements(run)
	for _, m := range run.Spec.Metrics {
		_, judged := m.Provider.Plugin[judge.PluginKey]
		mv := Metric{
			Name:             m.Name,
			SuccessCondition: m.SuccessCondition,
			FailureCondition: m.FailureCondition,
			Interval:         string(m.Interval),
			Measurements:     []Measurement{},
		}
		if m.Count != nil {
			mv.Count = intOrString(m.Count, "")
		}
		if m.FailureLimit != nil {
			mv.FailureLimit = intOrString(m.FailureLimit, "")
		}
		if m.InconclusiveLimit != nil {
			mv.InconclusiveLimit = intOrString(m.InconclusiveLimit, "")
		}
		// Secrets are never read here: their tags resolve to a mask.
		resolved, _, err := templates.ResolveMetric(m, run.Spec.Args, func(v1alpha1.Argument) (string, error) { return templates.Redacted, nil })
		if err != nil {
			resolved = m
		}
		mv.Provider, mv.Query = query(resolved.Provider)
		if i := slices.IndexFunc(run.Status.MetricResults, func(r v1alpha1.MetricResult) bool { return r.Name == m.Name }); i >= 0 {
			res := run.Status.MetricResults[i]
			mv.Status, mv.Message, mv.DryRun = string(res.Phase), res.Message, res.DryRun
			mv.Successful, mv.Failed, mv.Inconclusive, mv.Error = res.Successful, res.Failed, res.Inconclusive, res.Error
			for _, ms := range res.Measurements {
				mv.Measurements = append(mv.Measurements, measurement(ms, judged))
			}
		}
		if i := slices.IndexFunc(judgements, func(j tree.Judgement) bool { return j.Metric == m.Name }); i >= 0 {
			mv.Judgement = &judgements[i]
		}
		out.Metrics = append(out.Metrics, mv)
	}
	return out
}

func measurement(m v1alpha1.Measurement, judged bool) Measurement {
	out := Measurement{Phase: string(m.Phase), Value: m.Value, Message: m.Message, Values: numbers(m.Value)}
	if judged {
		if v, err := judge.ParseValue(m.Value); err == nil {
			out.Outcome = fmt.Sprintf("%s, score %s", v.Outcome, strconv.FormatFloat(v.Score, 'g', 4, 64))
		}
	}
	if m.StartedAt != nil {
		t := m.StartedAt.Time
		out.StartedAt = &t
	}
	if m.FinishedAt != nil {
		t := m.FinishedAt.Time
		out.FinishedAt = &t
	}
	return out
}

// numbers reads a measurement value as the chart plots it: a number, or
// a JSON array of numbers ("[0.97]", as Prometheus vectors are recorded).
func numbers(v string) []float64 {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil
	}
	if f, err := strconv.ParseFloat(v, 64); err == nil {
		return []float64{f}
	}
	var arr []any
	if err := json.Unmarshal([]byte(v), &arr); err != nil {
		return nil
	}
	var out []float64
	for _, e := range arr {
		switch x := e.(type) {
		case float64:
			out = append(out, x)
		case string:
			if f, err := strconv.ParseFloat(x, 64); err == nil {
				out = append(out, f)
			}
		}
	}
	return out
}

// query is the provider's name and what it asks, for the page.
func query(p v1alpha1.MetricProvider) (string, string) {
	switch {
	case p.Prometheus != nil:
		return "prometheus", p.Prometheus.Query
	case p.Web != nil:
		return "web", p.Web.URL
	case p.Datadog != nil:
		return "datadog", p.Datadog.Query
	case p.NewRelic != nil:
		return "newRelic", p.NewRelic.Query
	case p.Wavefront != nil:
		return "wavefront", p.Wavefront.Query
	case p.Graphite != nil:
		return "graphite", p.Graphite.Query
	case p.Influxdb != nil:
		return "influxdb", p.Influxdb.Query
	case p.SkyWalking != nil:
		return "skywalking", p.SkyWalking.Query
	case p.Job != nil:
		return "job", ""
	case p.Kayenta != nil:
		return "kayenta", ""
	case p.CloudWatch != nil:
		return "cloudWatch", ""
	case len(p.Plugin) > 0:
		for name := range p.Plugin {
			return "plugin " + name, ""
		}
	}
	return "unknown", ""
}
