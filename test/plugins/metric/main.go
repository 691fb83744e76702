// Command metric is a metric provider plugin built on Argo Rollouts' own
// plugin packages (github.com/argoproj/argo-rollouts v1.9.2), which Aviary's
// tests run to prove its plugin host speaks Argo Rollouts' wire protocol.
// It is a module of its own so that the controller never links Argo
// Rollouts.
//
// A metric's plugin configuration (any plugin name) is a JSON object:
//
//	url     GET it; the body (trimmed) is the value, judged as a number by the
//	        metric's conditions with Argo Rollouts' own evaluation
//	async   Run answers Running; Resume measures
//	echo    metadata "received" holds what the call decoded, as JSON
//	crash   exit the process in the middle of Run
//	gcError GarbageCollect answers this error
//	metadataError GetMetadata answers this error
//
// Flags: --marker FILE writes FILE as the process starts (proof that it
// ran); --fail-init makes InitPlugin fail.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	goPlugin "github.com/hashicorp/go-plugin"
	log "github.com/sirupsen/logrus"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/argoproj/argo-rollouts/metricproviders/plugin/rpc"
	"github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	"github.com/argoproj/argo-rollouts/utils/evaluate"
	metricutil "github.com/argoproj/argo-rollouts/utils/metric"
	"github.com/argoproj/argo-rollouts/utils/plugin/types"
)

// Type is what Plugin.Type answers.
const Type = "AviaryTestPlugin"

type config struct {
	URL           string `json:"url"`
	Async         bool   `json:"async"`
	Echo          bool   `json:"echo"`
	Crash         bool   `json:"crash"`
	GCError       string `json:"gcError"`
	MetadataError string `json:"metadataError"`
}

type provider struct {
	failInit bool
	log      *log.Entry
}

var _ rpc.MetricProviderPlugin = &provider{}

func (p *provider) InitPlugin() types.RpcError {
	if p.failInit {
		return types.RpcError{ErrorString: "told to fail InitPlugin"}
	}
	return types.RpcError{}
}

// configOf reads the metric's one plugin configuration.
func configOf(metric v1alpha1.Metric) (config, error) {
	var c config
	for _, raw := range metric.Provider.Plugin {
		if err := json.Unmarshal(raw, &c); err != nil {
			return c, fmt.Errorf("plugin configuration: %w", err)
		}
	}
	return c, nil
}

func now() *metav1.Time {
	t := metav1.Now()
	return &t
}

// echo records what a call decoded in the measurement's metadata.
func echo(m *v1alpha1.Measurement, received any) {
	b, err := json.Marshal(received)
	if err != nil {
		b = []byte(err.Error())
	}
	if m.Metadata == nil {
		m.Metadata = map[string]string{}
	}
	m.Metadata["received"] = string(b)
}

func (p *provider) Run(run *v1alpha1.AnalysisRun, metric v1alpha1.Metric) v1alpha1.Measurement {
	m := v1alpha1.Measurement{StartedAt: now()}
	c, err := configOf(metric)
	if err != nil {
		return metricutil.MarkMeasurementError(m, err)
	}
	if c.Echo {
		echo(&m, map[string]any{"analysisRun": run, "metric": metric})
	}
	if c.Crash {
		p.log.Info("told to crash")
		os.Exit(3)
	}
	if c.Async {
		m.Phase = v1alpha1.AnalysisPhaseRunning
		resume := metav1.NewTime(time.Now().Add(time.Second))
		m.ResumeAt = &resume
		return m
	}
	return measure(m, c, metric)
}

// measure fetches the value and judges it with Argo Rollouts' evaluation.
func measure(m v1alpha1.Measurement, c config, metric v1alpha1.Metric) v1alpha1.Measurement {
	resp, err := http.Get(c.URL)
	if err != nil {
		return metricutil.MarkMeasurementError(m, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return metricutil.MarkMeasurementError(m, err)
	}
	if resp.StatusCode != http.StatusOK {
		return metricutil.MarkMeasurementError(m, fmt.Errorf("the endpoint answered %s", resp.Status))
	}
	m.Value = strings.TrimSpace(string(body))
	value, err := strconv.ParseFloat(m.Value, 64)
	if err != nil {
		return metricutil.MarkMeasurementError(m, fmt.Errorf("value %q is not a number", m.Value))
	}
	phase, err := evaluate.EvaluateResult(value, metric, *log.WithField("metric", metric.Name))
	if err != nil {
		return metricutil.MarkMeasurementError(m, err)
	}
	m.Phase = phase
	m.FinishedAt = now()
	return m
}

func (p *provider) Resume(run *v1alpha1.AnalysisRun, metric v1alpha1.Metric, in v1alpha1.Measurement) v1alpha1.Measurement {
	c, err := configOf(metric)
	if err != nil {
		return metricutil.MarkMeasurementError(in, err)
	}
	out := in
	out.ResumeAt = nil
	out = measure(out, c, metric)
	if c.Echo {
		echo(&out, map[string]any{"analysisRun": run, "metric": metric, "measurement": in})
	}
	return out
}

func (p *provider) Terminate(run *v1alpha1.AnalysisRun, metric v1alpha1.Metric, in v1alpha1.Measurement) v1alpha1.Measurement {
	c, _ := configOf(metric)
	out := in
	out.Phase = v1alpha1.AnalysisPhaseSuccessful
	out.Message = "terminated by the plugin"
	out.FinishedAt = now()
	if c.Echo {
		echo(&out, map[string]any{"analysisRun": run, "metric": metric, "measurement": in})
	}
	return out
}

func (p *provider) GarbageCollect(run *v1alpha1.AnalysisRun, metric v1alpha1.Metric, limit int) types.RpcError {
	c, err := configOf(metric)
	if err != nil {
		return types.RpcError{ErrorString: err.Error()}
	}
	if c.GCError != "" {
		return types.RpcError{ErrorString: fmt.Sprintf("%s (run %s, limit %d)", c.GCError, run.Name, limit)}
	}
	return types.RpcError{}
}

func (p *provider) Type() string { return Type }

func (p *provider) GetMetadata(metric v1alpha1.Metric) map[string]string {
	c, err := configOf(metric)
	if err != nil {
		return map[string]string{"error": err.Error()}
	}
	if c.MetadataError != "" {
		return map[string]string{"error": c.MetadataError}
	}
	return map[string]string{"url": c.URL, "metric": metric.Name}
}

func main() {
	marker := flag.String("marker", "", "write this file as the process starts")
	failInit := flag.Bool("fail-init", false, "make InitPlugin fail")
	flag.Parse()
	if *marker != "" {
		if err := os.WriteFile(*marker, []byte(strconv.Itoa(os.Getpid())), 0o600); err != nil {
			log.Fatal(err)
		}
	}
	p := &provider{failInit: *failInit, log: log.WithField("plugin", "aviary-test")}
	goPlugin.Serve(&goPlugin.ServeConfig{
		HandshakeConfig: goPlugin.HandshakeConfig{
			ProtocolVersion:  1,
			MagicCookieKey:   "ARGO_ROLLOUTS_RPC_PLUGIN",
			MagicCookieValue: "metricprovider",
		},
		Plugins: map[string]goPlugin.Plugin{
			"RpcMetricProviderPlugin": &rpc.RpcMetricProviderPlugin{Impl: p},
		},
	})
}
