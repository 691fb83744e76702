package metrics

import (
	"runtime"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/aviary-rollouts/aviary/internal/version"
)

// RegisterBuild adds argo_rollouts_controller_info{version} and
// build_info{version,goversion,goarch,commit}, both constant 1, under
// Argo Rollouts' names: a dashboard's version panel and an alert on an
// unexpected version read them. The version is Aviary's.
func RegisterBuild(reg prometheus.Registerer) {
	v := version.Get()
	one := func() float64 { return 1 }
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        "argo_rollouts_controller_info",
			Help:        "Running Argo-rollouts version",
			ConstLabels: prometheus.Labels{"version": v.Version},
		}, one),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        "build_info",
			Help:        "A metric with a constant '1' value labeled by version from which Argo-Rollouts was built.",
			ConstLabels: prometheus.Labels{"version": v.Version, "goversion": runtime.Version(), "goarch": runtime.GOARCH, "commit": v.Commit},
		}, one),
	)
}
