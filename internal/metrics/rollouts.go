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
	infoDesc = prometheus.NewDesc("rollout_info", "Information about rollout.",
		[]string{"namespace", "name", "strategy", "traffic_router", "phase"}, nil)
	availableDesc   = replicaDesc("rollout_info_replicas_available", "available")
	unavailableDesc = replicaDesc("rollout_info_replicas_unavailable", "unavailable")
	desiredDesc     = replicaDesc("rollout_info_replicas_desired", "desired")
	updatedDesc     = replicaDesc("rollout_info_replicas_updated", "updated")
	phaseDesc       = prometheus.NewDesc("rollout_phase", "Information on the state of the rollout (DEPRECATED - use rollout_info)",
		[]string{"namespace", "name", "strategy", "phase"}, nil)
)

func replicaDesc(name, what string) *prometheus.Desc {
	return prometheus.NewDesc(name, "The number of "+what+" replicas per rollout.", rolloutLabels, nil)
}

// RolloutCollector reports every Rollout the reader (the manager's cache)
// holds.
type RolloutCollector struct {
	Reader client.Reader
}

// Describe implements prometheus.Collector.
func (c *RolloutCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{infoDesc, availableDesc, unavailableDesc, desiredDesc, updatedDesc, phaseDesc} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *RolloutCollector) Collect(ch chan<- prometheus.Metric) {
	var list v1alpha1.RolloutList
	if !listed(ch, c.Reader, &list, infoDesc) {
		return
	}
	for i := range list.Items {
		collectRollout(ch, &list.Items[i])
	}
}

// listed lists the reader's objects into list, read only: the cache's
// own objects, not a copy of every one per scrape. On failure it reports
// an invalid metric of desc and says false.
func listed(ch chan<- prometheus.Metric, r client.Reader, list client.ObjectList, desc *prometheus.Desc) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.List(ctx, list, client.UnsafeDisableDeepCopy); err != nil {
		ch <- prometheus.NewInvalidMetric(desc, err)
		return false
	}
	return true
}

func collectRollout(ch chan<- prometheus.Metric, ro *v1alpha1.Rollout) {
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, append([]string{ro.Namespace, ro.Name}, labels...)...)
	}
	strategy, phase := strategyOf(ro), infoPhase(ro)
	gauge(infoDesc, 1, strategy, trafficRouter(ro), phase)
	gauge(availableDesc, float64(ro.Status.AvailableReplicas))
	// Not clamped at 0, as in Argo Rollouts.
	gauge(unavailableDesc, float64(ro.Status.Replicas-ro.Status.AvailableReplicas))
	gauge(desiredDesc, float64(ro.ReplicasOrDefault()))
	gauge(updatedDesc, float64(ro.Status.UpdatedReplicas))
	for _, p := range legacyPhases {
		gauge(phaseDesc, boolValue(p == phase), strategy, p)
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
