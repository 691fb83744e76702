// Package metrics exports Rollout state under Argo Rollouts' metric names
// (rollout_info, rollout_info_replicas_*), so existing dashboards and alerts
// keep working. Values are read from the informer cache at scrape time:
// nothing is kept in memory between scrapes, and labels are bounded by the
// Rollouts that exist.
package metrics

import (
	"context"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

var (
	infoDesc = prometheus.NewDesc("rollout_info", "Information about a rollout; the value is always 1.",
		[]string{"namespace", "name", "strategy", "traffic_router", "phase"}, nil)
	availableDesc   = replicaDesc("rollout_info_replicas_available", "available")
	unavailableDesc = replicaDesc("rollout_info_replicas_unavailable", "unavailable")
	desiredDesc     = replicaDesc("rollout_info_replicas_desired", "desired")
	updatedDesc     = replicaDesc("rollout_info_replicas_updated", "updated")
)

func replicaDesc(name, what string) *prometheus.Desc {
	return prometheus.NewDesc(name, "The number of "+what+" replicas of a rollout.", []string{"namespace", "name"}, nil)
}

// RolloutCollector reports every Rollout the reader (the manager's cache)
// holds.
type RolloutCollector struct {
	Reader client.Reader
}

// Describe implements prometheus.Collector.
func (c *RolloutCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{infoDesc, availableDesc, unavailableDesc, desiredDesc, updatedDesc} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *RolloutCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var list v1alpha1.RolloutList
	// Read only: the cache's own objects, not a copy of every one per scrape.
	if err := c.Reader.List(ctx, &list, client.UnsafeDisableDeepCopy); err != nil {
		ch <- prometheus.NewInvalidMetric(infoDesc, err)
		return
	}
	for i := range list.Items {
		ro := &list.Items[i]
		ch <- prometheus.MustNewConstMetric(infoDesc, prometheus.GaugeValue, 1,
			ro.Namespace, ro.Name, strategy(ro), router(ro), string(ro.Status.Phase))
		desired := ro.ReplicasOrDefault()
		gauge := func(d *prometheus.Desc, v int32) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v), ro.Namespace, ro.Name)
		}
		gauge(availableDesc, ro.Status.AvailableReplicas)
		gauge(unavailableDesc, max(ro.Status.Replicas-ro.Status.AvailableReplicas, 0))
		gauge(desiredDesc, desired)
		gauge(updatedDesc, ro.Status.UpdatedReplicas)
	}
}

func strategy(ro *v1alpha1.Rollout) string {
	switch {
	case ro.Spec.Strategy.BlueGreen != nil:
		return "blueGreen"
	case ro.Spec.Strategy.Canary != nil:
		return "canary"
	}
	return "none"
}

// router names the traffic router(s) in Argo's label form.
func router(ro *v1alpha1.Rollout) string {
	c := ro.Spec.Strategy.Canary
	if c == nil || c.TrafficRouting == nil {
		return ""
	}
	tr := c.TrafficRouting
	var names []string
	for _, r := range []struct {
		set  bool
		name string
	}{
		{tr.Istio != nil, "Istio"}, {tr.Nginx != nil, "Nginx"}, {tr.ALB != nil, "ALB"}, {tr.SMI != nil, "SMI"},
		{tr.Ambassador != nil, "Ambassador"}, {tr.AppMesh != nil, "AppMesh"}, {tr.Traefik != nil, "Traefik"},
		{tr.Apisix != nil, "Apisix"}, {len(tr.Plugins) > 0, "Plugins"},
	} {
		if r.set {
			names = append(names, r.name)
		}
	}
	return strings.Join(names, ",")
}
