// Package plugin measures metrics through Argo Rollouts metric provider
// plugins: the metric's provider.plugin names a plugin of the ConfigMap
// argo-rollouts-config, whose process (internal/plugin) is asked over
// net/rpc with Argo Rollouts' service methods, argument structs and gob
// names, so plugin binaries built for Argo Rollouts work unchanged.
//
// As in Argo Rollouts the plugin judges its own measurement: it evaluates
// the metric's conditions and returns the phase, which is recorded as is.
package plugin

import (
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"net/rpc"
	"slices"
	"time"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/metricprovider"
	plugins "github.com/aviary-rollouts/aviary/internal/plugin"
)

// ProviderType is the provider's name in metrics and logs, Argo Rollouts'
// for every metric plugin.
const ProviderType = "RPCPlugin"

// The arguments of the plugin's RPC methods. Gob matches struct fields by
// name, so these carry Argo Rollouts' field names, and are registered
// under its gob names: the plugin decodes them into its own types.
type (
	// RunArgs are Plugin.Run's.
	RunArgs struct {
		AnalysisRun *v1alpha1.AnalysisRun
		Metric      v1alpha1.Metric
	}
	// TerminateAndResumeArgs are Plugin.Resume's and Plugin.Terminate's.
	TerminateAndResumeArgs struct {
		AnalysisRun *v1alpha1.AnalysisRun
		Metric      v1alpha1.Metric
		Measurement v1alpha1.Measurement
	}
	// GarbageCollectArgs are Plugin.GarbageCollect's.
	GarbageCollectArgs struct {
		AnalysisRun *v1alpha1.AnalysisRun
		Metric      v1alpha1.Metric
		Limit       int
	}
	// GetMetadataArgs are Plugin.GetMetadata's.
	GetMetadataArgs struct {
		Metric v1alpha1.Metric
	}
)

func init() {
	gob.RegisterName("RunArgs", new(RunArgs))
	gob.RegisterName("TerminateAndResumeArgs", new(TerminateAndResumeArgs))
	gob.RegisterName("GarbageCollectArgs", new(GarbageCollectArgs))
	gob.RegisterName("GetMetadataArgs", new(GetMetadataArgs))
}

// RPC calls one plugin process's methods, as Argo Rollouts'
// MetricsPluginRPC does.
type RPC struct {
	Client *rpc.Client
}

// call sends args as an interface value, as Argo Rollouts does: the plugin
// finds the concrete type by its registered gob name.
func (r RPC) call(ctx context.Context, method string, args any, reply any) error {
	return plugins.Call(ctx, r.Client, "Plugin."+method, &args, reply)
}

// Run starts a measurement.
func (r RPC) Run(ctx context.Context, run *v1alpha1.AnalysisRun, metric v1alpha1.Metric) (v1alpha1.Measurement, error) {
	var m v1alpha1.Measurement
	err := r.call(ctx, "Run", RunArgs{AnalysisRun: run, Metric: metric}, &m)
	return m, err
}

// Resume checks an asynchronous measurement.
func (r RPC) Resume(ctx context.Context, run *v1alpha1.AnalysisRun, metric v1alpha1.Metric, in v1alpha1.Measurement) (v1alpha1.Measurement, error) {
	var m v1alpha1.Measurement
	err := r.call(ctx, "Resume", TerminateAndResumeArgs{AnalysisRun: run, Metric: metric, Measurement: in}, &m)
	return m, err
}

// Terminate stops an asynchronous measurement.
func (r RPC) Terminate(ctx context.Context, run *v1alpha1.AnalysisRun, metric v1alpha1.Metric, in v1alpha1.Measurement) (v1alpha1.Measurement, error) {
	var m v1alpha1.Measurement
	err := r.call(ctx, "Terminate", TerminateAndResumeArgs{AnalysisRun: run, Metric: metric, Measurement: in}, &m)
	return m, err
}

// GarbageCollect asks the plugin to keep at most limit measurements' worth
// of its own state. The plugin's own error is the second result.
func (r RPC) GarbageCollect(ctx context.Context, run *v1alpha1.AnalysisRun, metric v1alpha1.Metric, limit int) (plugins.RPCError, error) {
	var resp plugins.RPCError
	err := r.call(ctx, "GarbageCollect", GarbageCollectArgs{AnalysisRun: run, Metric: metric, Limit: limit}, &resp)
	return resp, err
}

// Type is the plugin's own name for its provider.
func (r RPC) Type(ctx context.Context) (string, error) {
	var t string
	err := plugins.Call(ctx, r.Client, "Plugin.Type", new(any), &t)
	return t, err
}

// GetMetadata is what the plugin records on the metric's result.
func (r RPC) GetMetadata(ctx context.Context, metric v1alpha1.Metric) (map[string]string, error) {
	var md map[string]string
	err := r.call(ctx, "GetMetadata", GetMetadataArgs{Metric: metric}, &md)
	return md, err
}

// Provider is the "plugin" metric provider: it hands each metric to the
// plugin its provider.plugin names.
type Provider struct {
	Host  *plugins.Host
	Clock metricprovider.Clock
	// CallTimeout bounds each call to a plugin; zero is DefaultCallTimeout.
	CallTimeout time.Duration
}

// DefaultCallTimeout bounds one call to a metric plugin. Argo Rollouts
// waits for ever, so one hung plugin holds an analysis worker until the
// controller restarts; here the measurement is an Error and the worker moves
// on. It is generous because a plugin may run a slow query inside Run.
const DefaultCallTimeout = 5 * time.Minute

// bound gives ctx the call timeout.
func (p *Provider) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, p.timeout())
}

func (p *Provider) timeout() time.Duration {
	if p.CallTimeout <= 0 {
		return DefaultCallTimeout
	}
	return p.CallTimeout
}

// Type is "RPCPlugin".
func (p *Provider) Type() string { return ProviderType }

// rpcFor is the RPC of the one plugin metric names.
func (p *Provider) rpcFor(metric v1alpha1.Metric) (RPC, string, error) {
	if len(metric.Provider.Plugin) != 1 {
		return RPC{}, "", fmt.Errorf("metric %q: provider.plugin must name exactly one plugin; it names %d", metric.Name, len(metric.Provider.Plugin))
	}
	var name string
	for name = range metric.Provider.Plugin {
	}
	c, err := p.Host.Client(name)
	if errors.Is(err, plugins.ErrNotConfigured) {
		return RPC{}, name, fmt.Errorf("metric plugin %q is not listed under %s in ConfigMap %s as the controller read it at start: add it there and restart the controller",
			name, plugins.MetricProvider.Key(), plugins.ConfigMapName)
	}
	if err != nil {
		return RPC{}, name, err
	}
	return RPC{Client: c}, name, nil
}

// Run takes a measurement through the metric's plugin.
func (p *Provider) Run(ctx context.Context, run *v1alpha1.AnalysisRun, metric v1alpha1.Metric) v1alpha1.Measurement {
	r, name, err := p.rpcFor(metric)
	if err != nil {
		return p.fail(err)
	}
	ctx, cancel := p.bound(ctx)
	defer cancel()
	m, err := r.Run(ctx, run, metric)
	return p.answer(name, "Run", "run", m, err)
}

// Resume checks an asynchronous measurement through the metric's plugin.
func (p *Provider) Resume(ctx context.Context, run *v1alpha1.AnalysisRun, metric v1alpha1.Metric, in v1alpha1.Measurement) v1alpha1.Measurement {
	r, name, err := p.rpcFor(metric)
	if err != nil {
		return p.fail(err)
	}
	ctx, cancel := p.bound(ctx)
	defer cancel()
	m, err := r.Resume(ctx, run, metric, in)
	return p.answer(name, "Resume", "resume", m, err)
}

// Terminate stops an asynchronous measurement through the metric's plugin.
func (p *Provider) Terminate(ctx context.Context, run *v1alpha1.AnalysisRun, metric v1alpha1.Metric, in v1alpha1.Measurement) v1alpha1.Measurement {
	r, name, err := p.rpcFor(metric)
	if err != nil {
		return p.fail(err)
	}
	ctx, cancel := p.bound(ctx)
	defer cancel()
	m, err := r.Terminate(ctx, run, metric, in)
	return p.answer(name, "Terminate", "terminate", m, err)
}

// GarbageCollect passes the plugin's error on, in Argo Rollouts' words.
func (p *Provider) GarbageCollect(ctx context.Context, run *v1alpha1.AnalysisRun, metric v1alpha1.Metric, limit int) error {
	r, name, err := p.rpcFor(metric)
	if err != nil {
		return err
	}
	ctx, cancel := p.bound(ctx)
	defer cancel()
	resp, err := r.GarbageCollect(ctx, run, metric, limit)
	if err != nil {
		return fmt.Errorf("metric plugin %q: GarbageCollect rpc call error: %w", name, err)
	}
	if err := resp.Err(); err != nil {
		return fmt.Errorf("failed to garbage collect via plugin: %w", err)
	}
	return nil
}

// Metadata is the plugin's, its "error" entry worded as Argo Rollouts
// words it.
func (p *Provider) Metadata(metric v1alpha1.Metric) map[string]string {
	r, _, err := p.rpcFor(metric)
	if err != nil {
		return map[string]string{"error": err.Error()}
	}
	md, err := r.GetMetadata(context.Background(), metric)
	if err != nil {
		return map[string]string{"error": fmt.Sprintf("GetMetadata rpc call error: %s", err)}
	}
	if md["error"] != "" {
		md["error"] = "failed to get metadata via plugin: " + md["error"]
	}
	return md
}

// phases are those a plugin may answer; "Pending" is Argo's phase of a
// run not yet started, never a measurement's.
var phases = []v1alpha1.AnalysisPhase{
	v1alpha1.AnalysisPhaseRunning, v1alpha1.AnalysisPhaseSuccessful, v1alpha1.AnalysisPhaseFailed,
	v1alpha1.AnalysisPhaseError, v1alpha1.AnalysisPhaseInconclusive,
}

// answer is the plugin's measurement, or an Error one when the call
// failed or the answer has no phase (a plugin saying nothing never
// passes). A plugin's Error keeps its message behind Argo Rollouts'
// "failed to <verb> via plugin: ".
func (p *Provider) answer(name, method, verb string, m v1alpha1.Measurement, err error) v1alpha1.Measurement {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return p.fail(fmt.Errorf("metric plugin %q did not answer %s within %s: the measurement is an Error; check the plugin's log and what it queries", name, method, p.timeout()))
	case err != nil:
		return p.fail(fmt.Errorf("metric plugin %q: %s rpc call error: %w", name, method, err))
	case !slices.Contains(phases, m.Phase):
		return p.fail(fmt.Errorf("metric plugin %q: %s answered a measurement with phase %q; a plugin must answer Running, Successful, Failed, Inconclusive or Error", name, method, m.Phase))
	case m.Phase == v1alpha1.AnalysisPhaseError:
		m.Message = fmt.Sprintf("failed to %s via plugin: %s", verb, m.Message)
	}
	return m
}

func (p *Provider) fail(err error) v1alpha1.Measurement {
	return p.Clock.Finish(p.Clock.Start(), "", v1alpha1.AnalysisPhaseError, err)
}
