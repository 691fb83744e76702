// Package demo is the headline scenario (seed 01) played end to end: the
// scenario itself — apply the seed, the success path, the failure path,
// each checked against what a user must see — and the runner that starts
// the controller, a real Prometheus, the traffic simulator and the
// dashboard around it. `make demo` runs it on the local cluster; the e2e
// suite runs the same code (test/e2e/demo).
package demo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/clientside/action"
	"github.com/aviary-rollouts/aviary/internal/clientside/tree"
	"github.com/aviary-rollouts/aviary/internal/trafficsim"
)

// Names and values of seed 01 and of the scenario.
const (
	// RolloutName is the Rollout, its container, its stable Service and
	// the stable Ingress.
	RolloutName = "canary-demo"
	// CanaryIngress is the Ingress the controller creates for the canary.
	CanaryIngress = "canary-demo-canary-demo-canary"
	// MetricName is the seed's analysis metric.
	MetricName = "success-rate"

	BlueImage   = "argoproj/rollouts-demo:blue"
	GreenImage  = "argoproj/rollouts-demo:green"
	YellowImage = "argoproj/rollouts-demo:yellow"
	// YellowErrorRate is the share of requests yellow fails, in percent,
	// declared as ERROR_RATE in its pod template: the demo app's error
	// slider, which the traffic simulator reads.
	YellowErrorRate = 50

	// SeedPrometheus is the Prometheus address written in the seed.
	SeedPrometheus = "http://prometheus-kube-prometheus-prometheus.prometheus:9090"
)

// seedPause is each of the seed's four pause steps, whatever its indentation.
var seedPause = regexp.MustCompile(`pause:\s*\n\s*duration: 2m\b`)

// PrepareSeed points seed 01 at the local Prometheus and replaces each of
// its two-minute pauses with pause: a duration ("20s"), "" for a pause
// that waits for promote, or "2m" for the seed's own timing.
func PrepareSeed(raw []byte, pause, prometheus string) []byte {
	step := "pause: {}"
	if pause != "" {
		step = "pause: {duration: " + pause + "}"
	}
	seed := seedPause.ReplaceAll(raw, []byte(step))
	return bytes.ReplaceAll(seed, []byte(SeedPrometheus), []byte(prometheus))
}

// Scenario plays seed 01 in one namespace.
type Scenario struct {
	Client    client.Client
	Namespace string
	// Watch, if set, is called with what each poll saw, for a display.
	Watch func(Snapshot)
	// Poll is how often the scenario looks (default 250ms).
	Poll time.Duration
}

// Snapshot is what one poll saw.
type Snapshot struct {
	Rollout *v1alpha1.Rollout
	// Weight is the canary Ingress's canary-weight, "none" without one.
	Weight string
	// Runs are the namespace's AnalysisRuns.
	Runs []v1alpha1.AnalysisRun
}

// Result is the outcome of one path, checked.
type Result struct {
	Path     string
	Image    string
	Started  time.Time
	Duration time.Duration
	// SetWeights are the weights the rollout's steps set, in order (100
	// once the steps are done; 0 once aborted).
	SetWeights []string
	// Weights are the canary Ingress weights seen, in order.
	Weights []string
	// WeightAtRun is the set weight of the step at which the path's
	// AnalysisRun started, as the rollout status that first names it says.
	// (Not the Ingress weight: like Argo Rollouts, the controller starts the
	// run as the step begins but keeps the previous weight until the step's
	// canary pods are available.)
	WeightAtRun string
	Phase       string
	Message     string
	// StableImage is the image of the stable ReplicaSet at the end.
	StableImage string
	Run         RunResult
	// from is the stable hash when the path began: runs of it are not
	// the path's.
	from string
	// Problems are the expectations that were not met; none means the path
	// ended as it must.
	Problems []string
}

// RunResult is the path's background AnalysisRun.
type RunResult struct {
	Name         string
	Phase        string
	Message      string
	Successful   int32
	Failed       int32
	Error        int32
	Measurements []string
}

// OK tells whether the path ended as it must.
func (r Result) OK() bool { return len(r.Problems) == 0 }

func (s *Scenario) poll() time.Duration {
	if s.Poll > 0 {
		return s.Poll
	}
	return 250 * time.Millisecond
}

// Apply creates (or updates) seed's objects by server-side apply and waits
// until blue is Healthy with no traffic on a canary.
func (s *Scenario) Apply(ctx context.Context, seed []byte) error {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(seed), 4096)
	for {
		obj := &unstructured.Unstructured{}
		if err := dec.Decode(&obj.Object); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return fmt.Errorf("read the seed: %w", err)
		}
		if len(obj.Object) == 0 {
			continue
		}
		obj.SetNamespace(s.Namespace)
		if err := s.Client.Apply(ctx, client.ApplyConfigurationFromUnstructured(obj), client.FieldOwner("aviary-demo"), client.ForceOwnership); err != nil {
			return fmt.Errorf("apply %s %q: %w", obj.GetKind(), obj.GetName(), err)
		}
	}
	_, err := s.until(ctx, 2*time.Minute, "blue Healthy with no traffic on a canary", func(sn Snapshot) bool {
		return sn.Rollout.Status.Phase == v1alpha1.RolloutPhaseHealthy && sn.Rollout.Status.StableRS != "" &&
			sn.Rollout.Status.StableRS == sn.Rollout.Status.CurrentPodHash && (sn.Weight == "none" || sn.Weight == "0")
	}, nil)
	return err
}

// Success is the success path: set image green (as `kubectl argo rollouts
// set image` does); the canary walks 20→40→60→80→100 while the background
// analysis measures from 40%; green becomes stable.
func (s *Scenario) Success(ctx context.Context, timeout time.Duration) (Result, error) {
	res := Result{Path: "success", Image: GreenImage, Started: time.Now()}
	var before v1alpha1.Rollout
	if err := action.Get(ctx, s.Client, "rollout", s.Namespace, RolloutName, &before); err != nil {
		return res, err
	}
	res.from = before.Status.StableRS
	if _, err := action.SetImage(ctx, s.Client, s.Namespace, RolloutName, RolloutName, GreenImage); err != nil {
		return res, err
	}
	last, ok := s.play(ctx, &res, timeout, "green to become stable", func(sn Snapshot) bool {
		ro := sn.Rollout
		promoted := ro.Status.Phase == v1alpha1.RolloutPhaseHealthy && observed(ro) && ro.Status.StableRS == ro.Status.CurrentPodHash &&
			imageOf(ro) == GreenImage && terminal(runOf(sn))
		// An abort is an end too: the checks below say what went wrong.
		return promoted || ro.Status.Abort
	})
	if !ok {
		return res, nil
	}
	ro := last.Rollout
	res.expect(res.Phase == string(v1alpha1.RolloutPhaseHealthy), "the rollout is %s, want Healthy", res.Phase)
	res.expect(res.StableImage == GreenImage, "the stable ReplicaSet runs %q, want %q", res.StableImage, GreenImage)
	res.expect(slices.Equal(res.SetWeights, []string{"20", "40", "60", "80", "100"}), "set weights %v, want 20, 40, 60, 80, 100", res.SetWeights)
	res.expect(inOrder(res.Weights, "20", "40", "60", "80") && res.Weights[len(res.Weights)-1] == "0",
		"canary Ingress weights seen %v: want 20, 40, 60, 80 in order, then 0 once green is stable", res.Weights)
	res.expect(res.WeightAtRun == "40", "the background analysis started at canary weight %q, want 40 (startingStep 2)", res.WeightAtRun)
	res.expect(res.Run.Phase == string(v1alpha1.AnalysisPhaseSuccessful) && res.Run.Successful > 0 && res.Run.Failed == 0,
		"the background run %q is %s with %d successful and %d failed measurements, want Successful with no failure", res.Run.Name, res.Run.Phase, res.Run.Successful, res.Run.Failed)
	res.expect(s.stableSelector(ctx) == ro.Status.StableRS, "the stable Service selects %q, want green's hash %q", s.stableSelector(ctx), ro.Status.StableRS)
	return res, nil
}

// Failure is the failure path: set image yellow with a 50% error rate;
// the background analysis fails, and the rollout aborts by itself — all
// traffic back on the stable version (green after Success) — and stays
// Degraded until a person sets the image back or retries.
func (s *Scenario) Failure(ctx context.Context, timeout time.Duration) (Result, error) {
	res := Result{Path: "failure", Image: YellowImage, Started: time.Now()}
	var before v1alpha1.Rollout
	if err := action.Get(ctx, s.Client, "rollout", s.Namespace, RolloutName, &before); err != nil {
		return res, err
	}
	stableHash, stableImage := before.Status.StableRS, imageOf(&before)
	res.from = stableHash
	if err := s.release(ctx, YellowImage, YellowErrorRate); err != nil {
		return res, err
	}
	last, ok := s.play(ctx, &res, timeout, "the failing analysis to abort the rollout", func(sn Snapshot) bool {
		ro := sn.Rollout
		run := runOf(sn)
		aborted := ro.Status.Phase == v1alpha1.RolloutPhaseDegraded && ro.Status.Abort && run != nil &&
			run.Status.Phase == v1alpha1.AnalysisPhaseFailed && sn.Weight == "0"
		// Yellow promoted before its analysis failed is an end too (pauses
		// too short for the query's 60 s window); the checks say so.
		promoted := observed(ro) && ro.Status.StableRS == ro.Status.CurrentPodHash && ro.Status.StableRS != stableHash
		return aborted || promoted
	})
	if !ok {
		return res, nil
	}
	ro := last.Rollout
	res.expect(res.Phase == string(v1alpha1.RolloutPhaseDegraded) && ro.Status.Abort, "the rollout is %s (abort %t), want Degraded and aborted", res.Phase, ro.Status.Abort)
	res.expect(strings.Contains(res.Message, MetricName), "the rollout's message %q does not name the failed metric %q", res.Message, MetricName)
	res.expect(ro.Status.StableRS == stableHash && res.StableImage == stableImage,
		"stable is %q running %q, want the previous stable %q running %q", ro.Status.StableRS, res.StableImage, stableHash, stableImage)
	res.expect(s.stableSelector(ctx) == stableHash, "the stable Service selects %q, want %q (everything back on %s)", s.stableSelector(ctx), stableHash, stableImage)
	res.expect(inOrder(res.SetWeights, "20", "40") && res.SetWeights[len(res.SetWeights)-1] == "0", "set weights %v: want 20 then 40, ending at 0 once aborted", res.SetWeights)
	res.expect(inOrder(res.Weights, "20", "40") && res.Weights[len(res.Weights)-1] == "0", "canary Ingress weights seen %v: want 20 then 40, ending at 0", res.Weights)
	res.expect(res.WeightAtRun == "40", "the background analysis started at canary weight %q, want 40 (startingStep 2)", res.WeightAtRun)
	res.expect(res.Run.Phase == string(v1alpha1.AnalysisPhaseFailed) && res.Run.Failed > 3,
		"the background run %q is %s with %d failed measurements, want Failed after more than failureLimit (3)", res.Run.Name, res.Run.Phase, res.Run.Failed)
	res.expect(imageOf(ro) == YellowImage, "the rollout's spec has %q; yellow stays in the spec until a person reverts it or retries", imageOf(ro))
	return res, nil
}

// play waits until done, records the end state in res, and tells whether
// it was reached (a timeout is recorded as a problem).
func (s *Scenario) play(ctx context.Context, res *Result, timeout time.Duration, what string, done func(Snapshot) bool) (Snapshot, bool) {
	last, err := s.until(ctx, timeout, what, done, res)
	s.finish(ctx, res, last)
	if err != nil {
		res.Problems = append(res.Problems, err.Error())
		return last, false
	}
	return last, true
}

// release updates the pod template to image with ERROR_RATE set, in one
// update (one revision), as a release of a version built with that bug.
func (s *Scenario) release(ctx context.Context, image string, errorRate int) error {
	patch := fmt.Sprintf(`[{"op":"replace","path":"/spec/template/spec/containers/0/image","value":%q},`+
		`{"op":"add","path":"/spec/template/spec/containers/0/env","value":[{"name":%q,"value":"%d"}]}]`, image, trafficsim.ErrorRateEnv, errorRate)
	ro := &v1alpha1.Rollout{}
	ro.Namespace, ro.Name = s.Namespace, RolloutName
	if err := s.Client.Patch(ctx, ro, client.RawPatch(types.JSONPatchType, []byte(patch))); err != nil {
		return fmt.Errorf("release %s with ERROR_RATE=%d: %w", image, errorRate, err)
	}
	return nil
}

func (r *Result) expect(ok bool, format string, args ...any) {
	if !ok {
		r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
	}
}

// until polls until done holds or timeout passes, recording the canary
// weights into res. It returns the last snapshot.
func (s *Scenario) until(ctx context.Context, timeout time.Duration, what string, done func(Snapshot) bool, res *Result) (Snapshot, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(s.poll())
	defer tick.Stop()
	var sn Snapshot
	for {
		var err error
		sn, err = s.snapshot(ctx)
		if err == nil {
			if s.Watch != nil {
				s.Watch(sn)
			}
			if res != nil {
				res.Weights = appendChange(res.Weights, sn.Weight)
				// Weights set for the path's version only, once the
				// controller has seen it.
				if ro := sn.Rollout; observed(ro) && ro.Status.CurrentPodHash != res.from && ro.Spec.Strategy.Canary != nil {
					res.SetWeights = appendChange(res.SetWeights, strconv.Itoa(int(tree.SetWeight(ro))))
				}
				// Read from the first rollout status that names the run: the
				// rollout and the runs are read one after the other, so a
				// rollout read before the run was created can be listed
				// with it.
				if run, ro := runOf(sn), sn.Rollout; res.WeightAtRun == "" && run != nil && ro.Status.CurrentPodHash != res.from && ro.Spec.Strategy.Canary != nil &&
					ro.Status.Canary.CurrentBackgroundAnalysisRunStatus != nil && ro.Status.Canary.CurrentBackgroundAnalysisRunStatus.Name == run.Name {
					res.WeightAtRun = strconv.Itoa(int(tree.SetWeight(ro)))
				}
			}
			if done(sn) {
				return sn, nil
			}
		}
		select {
		case <-ctx.Done():
			if sn.Rollout == nil {
				return sn, fmt.Errorf("waiting for %s: %w (last read: %v)", what, context.Cause(ctx), err)
			}
			return sn, fmt.Errorf("waiting for %s: %w; the rollout is %s %q at step %s, canary weight %s",
				what, context.Cause(ctx), sn.Rollout.Status.Phase, sn.Rollout.Status.Message, step(sn.Rollout), sn.Weight)
		case <-tick.C:
		}
	}
}

func (s *Scenario) snapshot(ctx context.Context) (Snapshot, error) {
	sn := Snapshot{Rollout: &v1alpha1.Rollout{}, Weight: "none"}
	if err := action.Get(ctx, s.Client, "rollout", s.Namespace, RolloutName, sn.Rollout); err != nil {
		return sn, err
	}
	var in networkingv1.Ingress
	if err := s.Client.Get(ctx, types.NamespacedName{Namespace: s.Namespace, Name: CanaryIngress}, &in); err == nil {
		sn.Weight = in.Annotations["nginx.ingress.kubernetes.io/canary-weight"]
	}
	var runs v1alpha1.AnalysisRunList
	if err := s.Client.List(ctx, &runs, client.InNamespace(s.Namespace)); err != nil {
		return sn, err
	}
	sn.Runs = runs.Items
	return sn, nil
}

// finish records the end state of a path.
func (s *Scenario) finish(ctx context.Context, res *Result, last Snapshot) {
	res.Duration = time.Since(res.Started)
	ro := last.Rollout
	if ro == nil {
		return
	}
	res.Phase, res.Message = string(ro.Status.Phase), ro.Status.Message
	res.StableImage = s.stableImage(ctx, ro)
	if run := runOf(last); run != nil {
		res.Run = RunResult{Name: run.Name, Phase: string(run.Status.Phase), Message: run.Status.Message}
		for _, m := range run.Status.MetricResults {
			res.Run.Successful += m.Successful
			res.Run.Failed += m.Failed
			res.Run.Error += m.Error
			for _, ms := range m.Measurements {
				v := ms.Value
				if v == "" {
					v = string(ms.Phase)
				}
				res.Run.Measurements = append(res.Run.Measurements, v)
			}
		}
	}
}

// runOf is the background AnalysisRun of the rollout's current version.
func runOf(sn Snapshot) *v1alpha1.AnalysisRun {
	for i := range sn.Runs {
		r := &sn.Runs[i]
		if r.Labels[v1alpha1.DefaultRolloutUniqueLabelKey] == sn.Rollout.Status.CurrentPodHash && r.Labels[v1alpha1.RolloutTypeLabel] == v1alpha1.RolloutTypeBackgroundRunLabel {
			return r
		}
	}
	return nil
}

func terminal(run *v1alpha1.AnalysisRun) bool {
	return run != nil && run.Status.Phase.Completed()
}

func observed(ro *v1alpha1.Rollout) bool {
	return ro.Status.ObservedGeneration == fmt.Sprint(ro.Generation)
}

func imageOf(ro *v1alpha1.Rollout) string {
	if len(ro.Spec.Template.Spec.Containers) == 0 {
		return ""
	}
	return ro.Spec.Template.Spec.Containers[0].Image
}

func step(ro *v1alpha1.Rollout) string {
	if ro.Status.CurrentStepIndex == nil {
		return "-"
	}
	return fmt.Sprintf("%d/%d", *ro.Status.CurrentStepIndex, len(ro.Spec.Strategy.Canary.Steps))
}

func (s *Scenario) stableSelector(ctx context.Context) string {
	var svc corev1.Service
	if err := s.Client.Get(ctx, types.NamespacedName{Namespace: s.Namespace, Name: RolloutName}, &svc); err != nil {
		return ""
	}
	return svc.Spec.Selector[v1alpha1.DefaultRolloutUniqueLabelKey]
}

// stableImage is the image of the ReplicaSet with the stable hash.
func (s *Scenario) stableImage(ctx context.Context, ro *v1alpha1.Rollout) string {
	var rss appsv1.ReplicaSetList
	if err := s.Client.List(ctx, &rss, client.InNamespace(s.Namespace), client.MatchingLabels{v1alpha1.DefaultRolloutUniqueLabelKey: ro.Status.StableRS}); err != nil {
		return ""
	}
	for _, rs := range rss.Items {
		if cs := rs.Spec.Template.Spec.Containers; len(cs) > 0 {
			return cs[0].Image
		}
	}
	return ""
}

// appendChange appends v unless it is the last value already.
func appendChange(list []string, v string) []string {
	if len(list) > 0 && list[len(list)-1] == v {
		return list
	}
	return append(list, v)
}

// inOrder reports whether want appears in seen as a subsequence.
func inOrder(seen []string, want ...string) bool {
	i := 0
	for _, s := range seen {
		if i < len(want) && s == want[i] {
			i++
		}
	}
	return i == len(want) || slices.Equal(want, seen)
}
