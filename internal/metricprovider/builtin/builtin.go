// Package builtin is the set of metric providers this build carries, by
// the name the AnalysisRun controller looks them up with
// (analysisrun.ProviderName): built once here for the controller and for
// `kubectl argo rollouts analysis test`, which measures a template from a
// user's machine with the controller's own providers.
package builtin

import (
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/internal/metricprovider"
	"github.com/aviary-rollouts/aviary/internal/metricprovider/cloudwatch"
	"github.com/aviary-rollouts/aviary/internal/metricprovider/datadog"
	"github.com/aviary-rollouts/aviary/internal/metricprovider/graphite"
	"github.com/aviary-rollouts/aviary/internal/metricprovider/influxdb"
	"github.com/aviary-rollouts/aviary/internal/metricprovider/job"
	"github.com/aviary-rollouts/aviary/internal/metricprovider/judge"
	"github.com/aviary-rollouts/aviary/internal/metricprovider/kayenta"
	"github.com/aviary-rollouts/aviary/internal/metricprovider/newrelic"
	metricplugin "github.com/aviary-rollouts/aviary/internal/metricprovider/plugin"
	"github.com/aviary-rollouts/aviary/internal/metricprovider/prometheus"
	"github.com/aviary-rollouts/aviary/internal/metricprovider/skywalking"
	"github.com/aviary-rollouts/aviary/internal/metricprovider/wavefront"
	"github.com/aviary-rollouts/aviary/internal/metricprovider/web"
	"github.com/aviary-rollouts/aviary/internal/plugin"
)

// Options are what the providers need from their process.
type Options struct {
	// Jobs reads and writes the Jobs of Job metrics; nil leaves the Job
	// provider out (it measures by creating Jobs in the cluster).
	Jobs client.Client
	// Live reads Secrets (and a Job's pods) straight from the API server:
	// they are never cached.
	Live client.Reader
	// Home is the controller's own namespace, where providers find their
	// default credentials Secrets (datadog, newrelic, influxdb,
	// wavefront-api-tokens).
	Home string
	// MetricPlugins hosts the metric plugins argo-rollouts-config lists;
	// nil leaves the plugin provider out.
	MetricPlugins *plugin.Host
}

// Providers are the metric providers, by name.
func Providers(o Options) map[string]metricprovider.Provider {
	ps := map[string]metricprovider.Provider{
		"prometheus": prometheus.New(),
		"web":        web.New(),
		"skywalking": skywalking.New(),
		"graphite":   graphite.New(),
		"influxdb":   influxdb.New(o.Live, o.Home),
		"wavefront":  wavefront.New(o.Live, o.Home),
		"kayenta":    kayenta.New(),
		"cloudWatch": cloudwatch.New(),
		"datadog":    datadog.New(o.Live, o.Home),
		"newRelic":   newrelic.New(o.Live, o.Home),
		"judge":      judge.New(),
	}
	if o.Jobs != nil {
		ps["job"] = &job.Provider{Reader: o.Jobs, Writer: o.Jobs, Pods: o.Live, Now: time.Now}
	}
	if o.MetricPlugins != nil {
		ps["plugin"] = &metricplugin.Provider{Host: o.MetricPlugins}
	}
	return ps
}
