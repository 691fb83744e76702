// Package kayenta runs Kayenta canary judgements, asynchronously, as Argo
// Rollouts' kayenta provider does:
//
//  1. Run finds the canary config's id by name (GET <address>/canaryConfig),
//     starts a canary execution (POST <address>/canary/<config id> with the
//     scopes and thresholds) and returns a Running measurement whose
//     metadata holds the execution id (canaryExecutionId) and whose resumeAt
//     is one poll interval away.
//  2. Resume reads the execution (GET <address>/canary/<execution id>) until
//     it is complete, then judges its score: at least threshold.pass is
//     Successful, at least threshold.marginal Inconclusive, below Failed.
//     The value is the score as an integer.
//
// Everything Resume needs is in the measurement (its metadata and the
// metric), which the controller stores in the AnalysisRun before waiting,
// so a restarted controller goes on polling the same execution.
//
// A scope without start and end covers the metric's interval up to now, or
// with lookback the whole run so far, as in Argo Rollouts.
package kayenta

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/metricprovider"
)

const (
	// ProviderType is the provider's name in metrics and logs (as in Argo Rollouts).
	ProviderType = "Kayenta"
	// ExecutionIDKey names the measurement metadata entry holding the
	// canary execution being judged (as in Argo Rollouts).
	ExecutionIDKey = "canaryExecutionId"
	// DefaultPollInterval is the wait before reading an execution again, as
	// in Argo Rollouts.
	DefaultPollInterval = 15 * time.Second
	// PollIntervalEnv overrides DefaultPollInterval (a Go duration, e.g.
	// 5s): short canary judgements need not wait 15 s to be read.
	PollIntervalEnv = "AVIARY_KAYENTA_POLL_INTERVAL"
	// DefaultTimeout bounds each request, as Argo Rollouts' client does.
	DefaultTimeout = 15 * time.Second
)

// Provider runs Kayenta canary judgements.
type Provider struct {
	// Clock stamps measurements and ends scopes without an end; nil is the
	// real clock.
	Clock metricprovider.Clock
	// Getenv reads PollIntervalEnv; nil is os.Getenv.
	Getenv func(string) string
	// Timeout bounds each request; zero is DefaultTimeout.
	Timeout time.Duration
}

// New returns a Provider using the real clock and environment.
func New() *Provider {
	return &Provider{}
}

// Type is "Kayenta".
func (p *Provider) Type() string {
	return ProviderType
}

// Metadata is empty, as in Argo Rollouts.
func (p *Provider) Metadata(v1alpha1.Metric) map[string]string {
	return nil
}

// GarbageCollect has nothing to delete: executions stay in Kayenta's
// storage, as with Argo Rollouts.
func (p *Provider) GarbageCollect(context.Context, *v1alpha1.AnalysisRun, v1alpha1.Metric, int) error {
	return nil
}

// Terminate stops waiting for the execution. Kayenta offers no way to
// cancel a standalone canary execution; it finishes on its own and its
// result is not read.
func (p *Provider) Terminate(_ context.Context, _ *v1alpha1.AnalysisRun, _ v1alpha1.Metric, m v1alpha1.Measurement) v1alpha1.Measurement {
	m.ResumeAt = nil
	return p.Clock.Finish(m, "", v1alpha1.AnalysisPhaseSuccessful, nil)
}

// analysisRequest is the body of POST /canary/<config id>.
type analysisRequest struct {
	Scopes     map[string]scopePair `json:"scopes"`
	Thresholds thresholds           `json:"thresholds"`
}

type scopePair struct {
	ControlScope    scope `json:"controlScope"`
	ExperimentScope scope `json:"experimentScope"`
}

type scope struct {
	Scope    string `json:"scope"`
	Location string `json:"location"`
	Step     int64  `json:"step"`
	Start    string `json:"start,omitempty"`
	End      string `json:"end,omitempty"`
}

type thresholds struct {
	Pass     int64 `json:"pass"`
	Marginal int64 `json:"marginal"`
}

// Run starts a canary execution and returns it Running.
func (p *Provider) Run(ctx context.Context, run *v1alpha1.AnalysisRun, metric v1alpha1.Metric) v1alpha1.Measurement {
	m := p.Clock.Start()
	cfg := metric.Provider.Kayenta
	if cfg == nil {
		return p.fail(m, errors.New("metric has no kayenta provider"))
	}
	poll, err := p.pollInterval()
	if err != nil {
		return p.fail(m, err)
	}
	if err := metricprovider.CheckAddress("kayenta", cfg.Address); err != nil {
		return p.fail(m, fmt.Errorf("start kayenta canary: %w", err))
	}
	body, err := request(cfg, runStart(run, m), m.StartedAt.Time, metric.Interval)
	if err != nil {
		return p.fail(m, fmt.Errorf("start kayenta canary: %w", err))
	}
	id, err := p.start(ctx, cfg, body)
	if err != nil {
		return p.fail(m, fmt.Errorf("start kayenta canary at %s: %w", metricprovider.RedactURL(cfg.Address), err))
	}
	m.Phase = v1alpha1.AnalysisPhaseRunning
	m.Metadata = map[string]string{ExecutionIDKey: id}
	resume := metav1.NewTime(p.Clock.Now().Add(poll))
	m.ResumeAt = &resume
	return m
}

// Resume reads the execution; it waits another poll interval while the
// execution is incomplete.
func (p *Provider) Resume(ctx context.Context, _ *v1alpha1.AnalysisRun, metric v1alpha1.Metric, m v1alpha1.Measurement) v1alpha1.Measurement {
	cfg := metric.Provider.Kayenta
	if cfg == nil {
		return p.fail(m, errors.New("metric has no kayenta provider"))
	}
	id := m.Metadata[ExecutionIDKey]
	if id == "" {
		return p.fail(m, fmt.Errorf("measurement has no %s to read", ExecutionIDKey))
	}
	poll, err := p.pollInterval()
	if err != nil {
		return p.fail(m, err)
	}
	score, done, err := p.score(ctx, cfg.Address, id)
	if err != nil {
		return p.fail(m, fmt.Errorf("read kayenta canary %s at %s: %w", id, metricprovider.RedactURL(cfg.Address), err))
	}
	if !done {
		resume := metav1.NewTime(p.Clock.Now().Add(poll))
		m.ResumeAt = &resume
		m.Phase = v1alpha1.AnalysisPhaseRunning
		return m
	}
	m.ResumeAt = nil
	return p.Clock.Finish(m, strconv.Itoa(score), judge(score, cfg.Threshold), nil)
}

// judge maps a score to a phase with the metric's thresholds.
func judge(score int, t v1alpha1.KayentaThreshold) v1alpha1.AnalysisPhase {
	switch {
	case int64(score) >= t.Pass:
		return v1alpha1.AnalysisPhaseSuccessful
	case int64(score) >= t.Marginal:
		return v1alpha1.AnalysisPhaseInconclusive
	default:
		return v1alpha1.AnalysisPhaseFailed
	}
}

func (p *Provider) fail(m v1alpha1.Measurement, err error) v1alpha1.Measurement {
	m.ResumeAt = nil
	return p.Clock.Finish(m, "", "", err)
}

func (p *Provider) pollInterval() (time.Duration, error) {
	getenv := p.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	s := getenv(PollIntervalEnv)
	if s == "" {
		return DefaultPollInterval, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%s=%q is not a positive duration (e.g. 15s)", PollIntervalEnv, s)
	}
	return d, nil
}

// runStart is when the run started, for lookback scopes; a run not yet
// marked started starts with this measurement.
func runStart(run *v1alpha1.AnalysisRun, m v1alpha1.Measurement) time.Time {
	if run != nil && run.Status.StartedAt != nil {
		return run.Status.StartedAt.Time
	}
	return m.StartedAt.Time
}

// request builds the canary execution's body. Scopes without start take
// the interval before now (or the run's start with lookback); scopes
// without end end now.
func request(cfg *v1alpha1.KayentaMetric, runStarted, now time.Time, interval v1alpha1.DurationString) (analysisRequest, error) {
	req := analysisRequest{
		Scopes:     make(map[string]scopePair, len(cfg.Scopes)),
		Thresholds: thresholds{Pass: cfg.Threshold.Pass, Marginal: cfg.Threshold.Marginal},
	}
	for i, s := range cfg.Scopes {
		c, e := s.ControlScope, s.ExperimentScope
		if (c.Start == "") != (e.Start == "") {
			return analysisRequest{}, fmt.Errorf("scopes[%d] (%s): controlScope.start and experimentScope.start must both be set or both be empty", i, s.Name)
		}
		if (c.End == "") != (e.End == "") {
			return analysisRequest{}, fmt.Errorf("scopes[%d] (%s): controlScope.end and experimentScope.end must both be set or both be empty", i, s.Name)
		}
		if c.Start == "" {
			start := runStarted
			if !cfg.Lookback {
				d, err := interval.Duration()
				if err != nil || d <= 0 {
					return analysisRequest{}, fmt.Errorf("scopes[%d] (%s) has no start: set the metric's interval (%q is not a positive duration), lookback: true, or start and end", i, s.Name, interval)
				}
				start = now.Add(-d)
			}
			c.Start = start.Format(time.RFC3339)
			e.Start = c.Start
		}
		if c.End == "" {
			c.End = now.Format(time.RFC3339)
			e.End = c.End
		}
		req.Scopes[s.Name] = scopePair{ControlScope: toScope(c), ExperimentScope: toScope(e)}
	}
	return req, nil
}

func toScope(d v1alpha1.ScopeDetail) scope {
	return scope{Scope: d.Scope, Location: d.Region, Step: d.Step, Start: d.Start, End: d.End}
}

// base is the address without a trailing slash, for appending paths.
func base(address string) string {
	return strings.TrimSuffix(address, "/")
}

// accounts are the query parameters naming Kayenta accounts; an empty name
// is left out so that Kayenta uses its default account.
func accounts(pairs ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] != "" {
			v.Set(pairs[i], pairs[i+1])
		}
	}
	return v.Encode()
}

// start looks up the canary config's id and starts an execution.
func (p *Provider) start(ctx context.Context, cfg *v1alpha1.KayentaMetric, body analysisRequest) (string, error) {
	var configs []struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
	lookup := base(cfg.Address) + "/canaryConfig?" + accounts("application", cfg.Application, "configurationAccountName", cfg.ConfigurationAccountName)
	if err := p.call(ctx, http.MethodGet, lookup, nil, &configs); err != nil {
		return "", fmt.Errorf("list canary configs: %w", err)
	}
	configID := ""
	for _, c := range configs {
		if c.Name == cfg.CanaryConfigName {
			configID = c.ID
			break
		}
	}
	if configID == "" {
		return "", fmt.Errorf("no canary config named %q for application %q", cfg.CanaryConfigName, cfg.Application)
	}
	payload, err := json.Marshal(body)
	if err != nil {
		return "", fmt.Errorf("encode request: %w", err)
	}
	job := base(cfg.Address) + "/canary/" + url.PathEscape(configID) + "?" + accounts("application", cfg.Application,
		"metricsAccountName", cfg.MetricsAccountName, "configurationAccountName", cfg.ConfigurationAccountName, "storageAccountName", cfg.StorageAccountName)
	var started struct {
		ID string `json:"canaryExecutionId"`
	}
	if err := p.call(ctx, http.MethodPost, job, payload, &started); err != nil {
		return "", fmt.Errorf("start canary config %s: %w", configID, err)
	}
	if started.ID == "" {
		return "", errors.New("the answer has no canaryExecutionId")
	}
	return started.ID, nil
}

// execution is the part of GET /canary/<id>'s answer that is read.
type execution struct {
	Complete *bool  `json:"complete"`
	Status   string `json:"status"`
	Result   *struct {
		JudgeResult *struct {
			Score *struct {
				Score *float64 `json:"score"`
			} `json:"score"`
		} `json:"judgeResult"`
	} `json:"result"`
	Exception *struct {
		Details struct {
			Error  string   `json:"error"`
			Errors []string `json:"errors"`
		} `json:"details"`
	} `json:"exception"`
}

// score reads an execution: its score once complete.
func (p *Provider) score(ctx context.Context, address, id string) (int, bool, error) {
	var ex execution
	if err := p.call(ctx, http.MethodGet, base(address)+"/canary/"+url.PathEscape(id), nil, &ex); err != nil {
		return 0, false, err
	}
	if ex.Complete == nil {
		return 0, false, errors.New("the answer has no complete status")
	}
	if !*ex.Complete {
		return 0, false, nil
	}
	r := ex.Result
	if r == nil || r.JudgeResult == nil || r.JudgeResult.Score == nil || r.JudgeResult.Score.Score == nil {
		return 0, false, fmt.Errorf("the execution completed %s without a score%s", ex.Status, ex.reason())
	}
	return int(*r.JudgeResult.Score.Score), true, nil
}

// reason is what Kayenta says went wrong with a failed execution.
func (ex execution) reason() string {
	if ex.Exception == nil {
		return ""
	}
	// errors lists every problem; error, when alone, is the one there is.
	d := ex.Exception.Details
	switch {
	case len(d.Errors) > 0:
		return ": " + strings.Join(d.Errors, "; ")
	case d.Error != "":
		return ": " + d.Error
	}
	return ""
}

// call sends a request and decodes its JSON answer into out.
func (p *Provider) call(ctx context.Context, method, rawURL string, payload []byte, out any) error {
	timeout := p.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client, err := metricprovider.HTTPClient(ctx, false, v1alpha1.Authentication{})
	if err != nil {
		return err
	}
	var body io.Reader
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	req, err := metricprovider.NewRequest(ctx, method, rawURL, body, nil, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	status, answer, err := metricprovider.Send(client, req, timeout)
	if err != nil {
		return err
	}
	if status/100 != 2 {
		return metricprovider.StatusError(status, answer)
	}
	if err := json.Unmarshal(answer, out); err != nil {
		return fmt.Errorf("decode response: %w", err)
	}
	return nil
}
