// Package analysisrun is the AnalysisRun controller's shell: it reads a run
// from the cache, resolves its arguments (Secrets read at measurement time,
// never stored), asks the engine (internal/analysis/engine) which
// measurements are due, takes them through the metric providers, records
// them, then requeues exactly when the next measurement is due. Statuses
// are written by separate writers that coalesce a run's measurements
// (flush.go), so measuring keeps to its schedule when writes are scarce.
package analysisrun

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/record"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	ctrlmanager "sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/analysis/engine"
	"github.com/aviary-rollouts/aviary/internal/logging"
	"github.com/aviary-rollouts/aviary/internal/metricprovider"
	"github.com/aviary-rollouts/aviary/internal/metricprovider/judge"
	"github.com/aviary-rollouts/aviary/internal/metrics"
)

// Reconciler reconciles AnalysisRuns.
type Reconciler struct {
	Client client.Client
	// Secrets reads secretKeyRef arguments straight from the API server:
	// the controller never caches Secrets.
	Secrets  client.Reader
	Recorder record.EventRecorder
	Log      *slog.Logger
	// Providers by type name: "prometheus", "web", "job", "skywalking".
	Providers map[string]metricprovider.Provider
	Now       func() time.Time
	Threads   int

	status *statuses
}

// SetupWithManager registers the controller; Jobs it owns (Job metrics)
// bring their run back when they finish.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.Now == nil {
		r.Now = time.Now
	}
	r.status = newStatuses()
	writers := ctrlmanager.RunnableFunc(func(ctx context.Context) error {
		r.runWriters(ctx, max(r.Threads, 1))
		<-ctx.Done()
		return nil
	})
	if err := mgr.Add(writers); err != nil {
		return fmt.Errorf("add AnalysisRun status writers: %w", err)
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&v1alpha1.AnalysisRun{}).
		Owns(&batchv1.Job{}).
		WithOptions(controller.Options{MaxConcurrentReconciles: max(r.Threads, 1)}).
		Named(metrics.QueueAnalysisRuns).
		Complete(r)
}

// Reconcile takes the measurements that are due and records them, and
// times it in analysis_run_reconcile (not for a run that is gone).
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	start := time.Now()
	var run v1alpha1.AnalysisRun
	if err := r.Client.Get(ctx, req.NamespacedName, &run); err != nil {
		if apierrors.IsNotFound(err) {
			r.status.forget(req.NamespacedName)
			metrics.ForgetAnalysisRun(req.Namespace, req.Name)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	res, err := r.reconcile(ctx, req, &run)
	metrics.AnalysisRunReconcile.WithLabelValues(req.Namespace, req.Name).Observe(time.Since(start).Seconds())
	if err != nil {
		metrics.AnalysisRunReconcileError.WithLabelValues(req.Namespace, req.Name).Inc()
	}
	return res, err
}

func (r *Reconciler) reconcile(ctx context.Context, req ctrl.Request, run *v1alpha1.AnalysisRun) (ctrl.Result, error) {
	if run.DeletionTimestamp != nil {
		return ctrl.Result{}, nil
	}
	now := r.Now()
	if run.Status.Phase.Completed() {
		// The cache has caught up with the final status: nothing in
		// memory is newer.
		r.status.forget(req.NamespacedName)
		return r.expire(ctx, run, run.Status, now)
	}
	e := r.status.get(run)
	st := e.current()
	if st.Phase.Completed() {
		return r.expire(ctx, run, *st, now)
	}
	resolved, secrets, err := r.resolve(ctx, run)
	if err != nil {
		// A bad spec or a missing Secret ends the run: measuring with a
		// wrong query must never pass.
		r.finishInvalid(st, err.Error(), now)
		return r.record(ctx, run, e, st, nil)
	}
	for _, task := range engine.Due(resolved.metrics, run.Spec.Terminate, st, now) {
		spec := resolved.specs[task.Metric]
		m := r.measure(ctx, run, spec, task, st)
		redact(&m, secrets)
		eng := resolved.byName[task.Metric]
		if dropped := engine.Record(st, eng, task.Action, m, now); dropped > 0 {
			if p := r.provider(spec); p != nil {
				keep := eng.Retention
				if keep == 0 {
					keep = 10
				}
				if err := p.GarbageCollect(ctx, run, spec, keep); err != nil {
					r.logFor(req.Namespace, req.Name).WarnContext(ctx, "garbage-collect measurements", "metric", task.Metric, "error", err)
				}
			}
		}
		if p := r.provider(spec); p != nil {
			if md := p.Metadata(spec); len(md) > 0 {
				res := engine.Result(st, task.Metric)
				res.Metadata = map[string]string{}
				for k, v := range md {
					res.Metadata[k] = redactString(v, secrets)
				}
			}
		}
	}
	before := e.current()
	transitions := engine.Assess(resolved.metrics, run.Spec.Terminate, st, now)
	res, err := r.record(ctx, run, e, st, resolved.metrics)
	if err == nil {
		r.announce(run, before, st, transitions)
	}
	return res, err
}

// measure runs one task through the metric's provider; a metric whose
// provider this build lacks errors (never passes).
func (r *Reconciler) measure(ctx context.Context, run *v1alpha1.AnalysisRun, spec v1alpha1.Metric, task engine.Task, st *v1alpha1.AnalysisRunStatus) v1alpha1.Measurement {
	p := r.provider(spec)
	if p == nil {
		return errorMeasurement(r.Now(), fmt.Sprintf("metric %q uses provider %s, which this Aviary build does not support", spec.Name, providerName(spec)))
	}
	switch task.Action {
	case engine.Resume, engine.Terminate:
		res := engine.Result(st, task.Metric)
		if res == nil || len(res.Measurements) == 0 {
			return errorMeasurement(r.Now(), "no measurement in flight to "+strings.ToLower(string(task.Action)))
		}
		last := res.Measurements[len(res.Measurements)-1]
		if task.Action == engine.Resume {
			return p.Resume(ctx, run, spec, last)
		}
		return p.Terminate(ctx, run, spec, last)
	}
	return p.Run(ctx, run, spec)
}

func (r *Reconciler) provider(spec v1alpha1.Metric) metricprovider.Provider {
	return r.Providers[providerName(spec)]
}

// providerName names the metric's provider as the Providers map keys it.
func providerName(spec v1alpha1.Metric) string {
	p := spec.Provider
	switch {
	case p.Prometheus != nil:
		return "prometheus"
	case p.Web != nil:
		return "web"
	case p.Job != nil:
		return "job"
	case p.SkyWalking != nil:
		return "skywalking"
	case p.Datadog != nil:
		return "datadog"
	case p.NewRelic != nil:
		return "newRelic"
	case p.Wavefront != nil:
		return "wavefront"
	case p.Kayenta != nil:
		return "kayenta"
	case p.Graphite != nil:
		return "graphite"
	case p.Influxdb != nil:
		return "influxdb"
	case p.CloudWatch != nil:
		return "cloudWatch"
	case p.Plugin[judge.PluginKey] != nil:
		// Built in: the canary judge needs no plugin binary.
		return "judge"
	case len(p.Plugin) > 0:
		return "plugin"
	}
	return "none"
}

// finishInvalid ends a run that cannot be measured with Error and the
// reason.
func (r *Reconciler) finishInvalid(st *v1alpha1.AnalysisRunStatus, msg string, now time.Time) {
	engine.Start(st, now)
	st.Phase, st.Message = v1alpha1.AnalysisPhaseError, msg
	done := metaTime(now)
	st.CompletedAt = &done
}

// record keeps st as the run's newest status: a completed one is written
// at once (the rollout waits on it, and it must survive a crash), any
// other is handed to the writers. It requeues when the next measurement is
// due or, for a completed run, when its ttlStrategy expires.
func (r *Reconciler) record(ctx context.Context, run *v1alpha1.AnalysisRun, e *entry, st *v1alpha1.AnalysisRunStatus, metrics []engine.Metric) (ctrl.Result, error) {
	changed := e.set(st)
	now := r.Now()
	if st.Phase.Completed() {
		if err := e.flush(ctx, r.Client, run); err != nil {
			return ctrl.Result{}, err
		}
		return r.expire(ctx, run, *st, now)
	}
	if changed {
		r.status.queue.Add(types.NamespacedName{Namespace: run.Namespace, Name: run.Name})
	}
	if next, ok := engine.Next(metrics, run.Spec.Terminate, st, now); ok {
		return ctrl.Result{RequeueAfter: max(next.Sub(now), time.Millisecond)}, nil
	}
	return ctrl.Result{}, nil
}

// expire deletes a completed run once its ttlStrategy says so.
func (r *Reconciler) expire(ctx context.Context, run *v1alpha1.AnalysisRun, st v1alpha1.AnalysisRunStatus, now time.Time) (ctrl.Result, error) {
	at, ok := engine.DeleteAt(run.Spec.TTLStrategy, st.Phase, st.CompletedAt)
	if !ok {
		return ctrl.Result{}, nil
	}
	if wait := at.Sub(now); wait > 0 {
		return ctrl.Result{RequeueAfter: wait}, nil
	}
	uid := run.UID
	if err := r.Client.Delete(ctx, run, client.Preconditions{UID: &uid}); err != nil && !apierrors.IsNotFound(err) {
		return ctrl.Result{}, fmt.Errorf("delete AnalysisRun %s/%s past its ttlStrategy: %w", run.Namespace, run.Name, err)
	}
	return ctrl.Result{}, nil
}

// announce records Metric<Phase> for each metric that completed and
// AnalysisRun<Phase> when the run did.
func (r *Reconciler) announce(run *v1alpha1.AnalysisRun, before, st *v1alpha1.AnalysisRunStatus, transitions []engine.Transition) {
	for _, tr := range transitions {
		if !tr.To.Completed() {
			continue
		}
		msg := fmt.Sprintf("Metric '%s' Completed. Result: %s", tr.Metric, tr.To)
		if res := engine.Result(st, tr.Metric); res != nil && res.Message != "" {
			msg += ": " + res.Message
		}
		r.event(run, eventType(tr.To), "Metric"+string(tr.To), msg)
	}
	if st.Phase.Completed() && !before.Phase.Completed() {
		msg := fmt.Sprintf("Analysis Completed. Result: %s", st.Phase)
		if st.Message != "" {
			msg += ": " + st.Message
		}
		r.event(run, eventType(st.Phase), "AnalysisRun"+string(st.Phase), msg)
	}
}

// event records an event of run and logs it, as Argo Rollouts logs every
// event it records: the verdicts of the run and its metrics are in the
// log, at info (warning for a Warning event), with the run and the reason.
func (r *Reconciler) event(run *v1alpha1.AnalysisRun, typ, reason, msg string) {
	level := slog.LevelInfo
	if typ == corev1.EventTypeWarning {
		level = slog.LevelWarn
	}
	r.logFor(run.Namespace, run.Name).Log(context.Background(), level, msg, logging.KeyEventReason, reason)
	if r.Recorder != nil {
		r.Recorder.Event(run, typ, reason, msg)
	}
}

// logFor is r.Log naming the AnalysisRun namespace/name under Argo
// Rollouts' keys, or a logger that discards when r.Log is unset (tests).
func (r *Reconciler) logFor(namespace, name string) *slog.Logger {
	if r.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return r.Log.With(logging.KeyNamespace, namespace, logging.KeyAnalysisRun, name)
}

func eventType(p v1alpha1.AnalysisPhase) string {
	if p == v1alpha1.AnalysisPhaseSuccessful {
		return corev1.EventTypeNormal
	}
	return corev1.EventTypeWarning
}
