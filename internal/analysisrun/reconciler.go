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
	metrics, transitions, err := r.measurer().Step(ctx, run, st)
	if err != nil {
		// A bad spec or a missing Secret ended the run (Error).
		return r.record(ctx, run, e, st, nil)
	}
	before := e.current()
	res, err := r.record(ctx, run, e, st, metrics)
	if err == nil {
		r.announce(run, before, st, transitions)
	}
	return res, err
}

// measurer takes the run's measurements with the reconciler's Secrets
// reader, providers and clock.
func (r *Reconciler) measurer() *Measurer {
	return &Measurer{Secrets: r.Secrets, Providers: r.Providers, Now: r.Now, Log: r.Log}
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
	return runLogger(r.Log, namespace, name)
}

func eventType(p v1alpha1.AnalysisPhase) string {
	if p == v1alpha1.AnalysisPhaseSuccessful {
		return corev1.EventTypeNormal
	}
	return corev1.EventTypeWarning
}
