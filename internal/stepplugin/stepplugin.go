// Package stepplugin calls Argo Rollouts step plugins: a canary step's
// plugin.name names a plugin of the ConfigMap argo-rollouts-config, whose
// process (internal/plugin) is asked over net/rpc with Argo Rollouts'
// service methods, argument structs and gob names, so plugin binaries
// built for Argo Rollouts work unchanged. What to call and what an answer
// means is the planner's (internal/plan/canary); this package only calls.
package stepplugin

import (
	"context"
	"encoding/gob"
	"encoding/json"
	"errors"
	"fmt"
	"net/rpc"
	"time"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	plugins "github.com/aviary-rollouts/aviary/internal/plugin"
)

// Context is Argo Rollouts' RpcStepContext: what the plugin is told of the
// step besides the Rollout.
type Context struct {
	// PluginName is the plugin's name, as the step gives it.
	PluginName string
	// Config is the step's plugin.config.
	Config json.RawMessage
	// Status is the plugin's own state from its last Run.
	Status json.RawMessage
}

// Result is Argo Rollouts' RpcStepResult: the plugin's answer.
type Result struct {
	// Phase is Running, Successful, Failed or Error; empty keeps the
	// phase the operation had.
	Phase v1alpha1.StepPluginPhase
	// Message says why.
	Message string
	// RequeueAfter is when a Running operation wants to be called again.
	RequeueAfter time.Duration
	// Status is the plugin's state, to be handed back on the next call.
	Status json.RawMessage
}

// The arguments and answer of the plugin's RPC methods. Gob matches struct
// fields by name, so these carry Argo Rollouts' field names, and the
// arguments are registered under its gob names: the plugin decodes them
// into its own types.
type (
	// RunArgs are Plugin.Run's.
	RunArgs struct {
		Rollout *v1alpha1.Rollout
		Context *Context
	}
	// TerminateArgs are Plugin.Terminate's.
	TerminateArgs struct {
		Rollout *v1alpha1.Rollout
		Context *Context
	}
	// AbortArgs are Plugin.Abort's.
	AbortArgs struct {
		Rollout *v1alpha1.Rollout
		Context *Context
	}
	// Response is the answer of Run, Terminate and Abort.
	Response struct {
		Result Result
		Error  plugins.RPCError
	}
)

func init() {
	gob.RegisterName("step.RunArgs", new(RunArgs))
	gob.RegisterName("step.TerminateArgs", new(TerminateArgs))
	gob.RegisterName("step.AbortArgs", new(AbortArgs))
}

// RPC calls one plugin process's methods, as Argo Rollouts' StepPluginRPC
// does.
type RPC struct {
	Client *rpc.Client
}

// call sends args as an interface value, as Argo Rollouts does: the plugin
// finds the concrete type by its registered gob name.
func (r RPC) call(ctx context.Context, method string, args any) (Response, error) {
	var resp Response
	err := plugins.Call(ctx, r.Client, "Plugin."+method, &args, &resp)
	return resp, err
}

// Run runs the step, or checks on it.
func (r RPC) Run(ctx context.Context, ro *v1alpha1.Rollout, sc *Context) (Response, error) {
	return r.call(ctx, "Run", RunArgs{Rollout: ro, Context: sc})
}

// Terminate stops a Run still going.
func (r RPC) Terminate(ctx context.Context, ro *v1alpha1.Rollout, sc *Context) (Response, error) {
	return r.call(ctx, "Terminate", TerminateArgs{Rollout: ro, Context: sc})
}

// Abort reverts what Run did.
func (r RPC) Abort(ctx context.Context, ro *v1alpha1.Rollout, sc *Context) (Response, error) {
	return r.call(ctx, "Abort", AbortArgs{Rollout: ro, Context: sc})
}

// Type is the plugin's own name for its step.
func (r RPC) Type(ctx context.Context) (string, error) {
	var t string
	err := plugins.Call(ctx, r.Client, "Plugin.Type", new(any), &t)
	return t, err
}

// DefaultCallTimeout bounds one call to a step plugin. Argo Rollouts waits
// for ever, so a hung plugin holds a rollout worker until the controller
// restarts; here the call is an Error, retried after the backoff. A plugin
// with long work answers Running and is called again.
const DefaultCallTimeout = time.Minute

// Caller calls the step plugins of a host.
type Caller struct {
	Host *plugins.Host
	// CallTimeout bounds each call; zero is DefaultCallTimeout.
	CallTimeout time.Duration
}

// Call asks the named plugin to carry out op (Run, Terminate or Abort) on
// ro's step. An error is what Argo Rollouts records as the operation's
// message when it fails: the plugin's own error, or the call's failure.
func (c Caller) Call(ctx context.Context, ro *v1alpha1.Rollout, op v1alpha1.StepPluginOperation, sc Context) (Result, error) {
	client, err := c.Host.Client(sc.PluginName)
	if errors.Is(err, plugins.ErrNotConfigured) {
		return Result{}, fmt.Errorf("step plugin %q is not listed under %s in ConfigMap %s as the controller read it at start: add it there and restart the controller",
			sc.PluginName, plugins.Step.Key(), plugins.ConfigMapName)
	}
	if err != nil {
		return Result{}, err
	}
	timeout := c.CallTimeout
	if timeout <= 0 {
		timeout = DefaultCallTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	r := RPC{Client: client}
	var resp Response
	switch op {
	case v1alpha1.StepPluginOperationRun:
		resp, err = r.Run(ctx, ro, &sc)
	case v1alpha1.StepPluginOperationTerminate:
		resp, err = r.Terminate(ctx, ro, &sc)
	case v1alpha1.StepPluginOperationAbort:
		resp, err = r.Abort(ctx, ro, &sc)
	default:
		return Result{}, fmt.Errorf("step plugin %q: no operation %q", sc.PluginName, op)
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return Result{}, fmt.Errorf("step plugin %q did not answer %s within %s", sc.PluginName, op, timeout)
	case err != nil:
		return Result{}, fmt.Errorf("%s rpc call error: %w", op, err)
	case resp.Error.Err() != nil:
		return Result{}, resp.Error
	}
	return resp.Result, nil
}
