// Package metrics exports the controller's state under Argo Rollouts'
// metric names, help texts, labels and label values (rollout_info,
// analysis_run_info, …), so existing Grafana dashboards and alerts keep
// working. The state gauges are read from the informer cache at scrape
// time: nothing is kept in memory between scrapes, and labels are bounded
// by the objects that exist. Help texts are Argo Rollouts' own strings:
// they are part of what a scrape shows.
package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// The values of rollout_info's and rollout_phase's phase label. They are
// not status.phase: Argo Rollouts derives them from the Rollout's
// conditions (infoPhase), and dashboards filter on these words.
const (
	PhaseProgressing = "Progressing"
	PhasePaused      = "Paused"
	PhaseCompleted   = "Completed"
	PhaseAbort       = "Abort"
	PhaseError       = "Error"
	PhaseTimeout     = "Timeout"
	PhaseInvalidSpec = "InvalidSpec"
)

// legacyPhases are the phases rollout_phase has a series for, one each per
// Rollout; InvalidSpec has none, as in Argo Rollouts.
var legacyPhases = []string{PhaseCompleted, PhaseProgressing, PhasePaused, PhaseTimeout, PhaseError, PhaseAbort}

var (
	infoFamily        = newGauge("rollout_info", "Information about rollout.", "namespace", "name", "strategy", "traffic_router", "phase")
	availableFamily   = replicaFamily("rollout_info_replicas_available", "available")
	unavailableFamily = replicaFamily("rollout_info_replicas_unavailable", "unavailable")
	desiredFamily     = replicaFamily("rollout_info_replicas_desired", "desired")
	updatedFamily     = replicaFamily("rollout_info_replicas_updated", "updated")
	phaseFamily       = newGauge("rollout_phase", "Information on the state of the rollout (DEPRECATED - use rollout_info)",
		"namespace", "name", "strategy", "phase")
)

func replicaFamily(name, what string) *gaugeFamily {
	return newGauge(name, "The number of "+what+" replicas per rollout.", rolloutLabels...)
}

// RolloutCollector reports every Rollout the reader (the manager's cache)
// holds.
type RolloutCollector struct {
	Reader client.Reader
}

// Describe implements prometheus.Collector.
func (c *RolloutCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, f := range []*gaugeFamily{infoFamily, availableFamily, unavailableFamily, desiredFamily, updatedFamily, phaseFamily} {
		ch <- f.desc
	}
}

// Collect implements prometheus.Collector.
func (c *RolloutCollector) Collect(ch chan<- prometheus.Metric) {
	collectState(ch, infoFamily, c.rows, emitRollouts)
}

func (c *RolloutCollector) snapshot(ctx context.Context) (func(*textWriter), error) {
	return snapshotState(ctx, "rollouts", c.rows, emitRollouts)
}

// listTimeout bounds how long a scrape waits for the cache.
const listTimeout = 5 * time.Second

// rolloutRow is what the families show of one cached Rollout.
type rolloutRow struct {
	ro                      *v1alpha1.Rollout
	strategy, router, phase string
}

func (c *RolloutCollector) rows(ctx context.Context) ([]rolloutRow, error) {
	var rows []rolloutRow
	err := eachCached(ctx, c.Reader, &v1alpha1.RolloutList{}, func(ro *v1alpha1.Rollout) {
		rows = append(rows, rolloutRow{ro: ro, strategy: strategyOf(ro), router: trafficRouter(ro), phase: infoPhase(ro)})
	})
	return rows, err
}

func emitRollouts(rows []rolloutRow, e *emitter) {
	for _, r := range rows {
		e.gauge(infoFamily, 1, r.ro.Namespace, r.ro.Name, r.strategy, r.router, r.phase)
	}
	replicas := []struct {
		f     *gaugeFamily
		value func(*v1alpha1.Rollout) int32
	}{
		{availableFamily, func(ro *v1alpha1.Rollout) int32 { return ro.Status.AvailableReplicas }},
		// Not clamped at 0, as in Argo Rollouts.
		{unavailableFamily, func(ro *v1alpha1.Rollout) int32 { return ro.Status.Replicas - ro.Status.AvailableReplicas }},
		{desiredFamily, func(ro *v1alpha1.Rollout) int32 { return ro.ReplicasOrDefault() }},
		{updatedFamily, func(ro *v1alpha1.Rollout) int32 { return ro.Status.UpdatedReplicas }},
	}
	for _, fam := range replicas {
		for _, r := range rows {
			e.gauge(fam.f, float64(fam.value(r.ro)), r.ro.Namespace, r.ro.Name)
		}
	}
	for _, r := range rows {
		for _, p := range legacyPhases {
			e.gauge(phaseFamily, boolValue(p == r.phase), r.ro.Namespace, r.ro.Name, r.strategy, p)
		}
	}
}

// infoPhase is Argo Rollouts' phase label: Progressing unless the
// Progressing condition's reason says the update completed, paused, failed
// to create its ReplicaSet, missed its deadline or was aborted; an
// InvalidSpec condition overrides them all.
func infoPhase(ro *v1alpha1.Rollout) string {
	phase := PhaseProgressing
	for _, c := range ro.Status.Conditions {
		if c.Type == v1alpha1.InvalidSpec {
			return PhaseInvalidSpec
		}
	}
	for _, c := range ro.Status.Conditions {
		if c.Type != v1alpha1.RolloutProgressing {
			continue
		}
		switch c.Reason {
		case v1alpha1.NewRSAvailableReason:
			phase = PhaseCompleted
		case v1alpha1.RolloutPausedReason:
			phase = PhasePaused
		case v1alpha1.FailedRSCreateReason:
			phase = PhaseError
		case v1alpha1.TimedOutReason:
			phase = PhaseTimeout
		case v1alpha1.RolloutAbortedReason:
			phase = PhaseAbort
		}
	}
	return phase
}

func strategyOf(ro *v1alpha1.Rollout) string {
	switch {
	case ro.Spec.Strategy.BlueGreen != nil:
		return "blueGreen"
	case ro.Spec.Strategy.Canary != nil:
		return "canary"
	}
	return "none"
}

// trafficRouter is Argo Rollouts' traffic_router label: one name, the last
// configured in the order ALB, Ambassador, Istio, Nginx, SMI, AppMesh; ""
// for no router and for the routers Argo does not name there (Traefik,
// APISIX, plugins such as the Gateway API).
func trafficRouter(ro *v1alpha1.Rollout) string {
	c := ro.Spec.Strategy.Canary
	if ro.Spec.Strategy.BlueGreen != nil || c == nil || c.TrafficRouting == nil {
		return ""
	}
	tr := c.TrafficRouting
	name := ""
	for _, r := range []struct {
		set  bool
		name string
	}{
		{tr.ALB != nil, "ALB"}, {tr.Ambassador != nil, "Ambassador"}, {tr.Istio != nil, "Istio"},
		{tr.Nginx != nil, "Nginx"}, {tr.SMI != nil, "SMI"}, {tr.AppMesh != nil, "AppMesh"},
	} {
		if r.set {
			name = r.name
		}
	}
	return name
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
