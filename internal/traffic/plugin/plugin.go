// Package plugin routes traffic through Argo Rollouts traffic router
// plugins: a Rollout's trafficRouting.plugins names a plugin of the
// ConfigMap argo-rollouts-config, whose process (internal/plugin) is asked
// over net/rpc with Argo Rollouts' service methods, argument structs and
// gob names, so plugin binaries built for Argo Rollouts work unchanged.
// The plugin gets the whole Rollout on every call and finds its own
// configuration in it, as under Argo Rollouts.
package plugin

import (
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"net/rpc"
	"time"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	plugins "github.com/aviary-rollouts/aviary/internal/plugin"
	"github.com/aviary-rollouts/aviary/internal/traffic"
)

// The arguments of the plugin's RPC methods. Gob matches struct fields by
// name, so these carry Argo Rollouts' field names, and are registered under
// its gob names: the plugin decodes them into its own types.
type (
	// UpdateHashArgs are Plugin.UpdateHash's.
	UpdateHashArgs struct {
		Rollout                v1alpha1.Rollout
		CanaryHash             string
		StableHash             string
		AdditionalDestinations []v1alpha1.WeightDestination
	}
	// SetWeightAndVerifyWeightArgs are Plugin.SetWeight's and
	// Plugin.VerifyWeight's.
	SetWeightAndVerifyWeightArgs struct {
		Rollout                v1alpha1.Rollout
		DesiredWeight          int32
		AdditionalDestinations []v1alpha1.WeightDestination
	}
	// SetHeaderArgs are Plugin.SetHeaderRoute's.
	SetHeaderArgs struct {
		Rollout        v1alpha1.Rollout
		SetHeaderRoute v1alpha1.SetHeaderRoute
	}
	// SetMirrorArgs are Plugin.SetMirrorRoute's.
	SetMirrorArgs struct {
		Rollout        v1alpha1.Rollout
		SetMirrorRoute v1alpha1.SetMirrorRoute
	}
	// RemoveManagedRoutesArgs are Plugin.RemoveManagedRoutes'.
	RemoveManagedRoutesArgs struct {
		Rollout v1alpha1.Rollout
	}
)

// Verified is Argo Rollouts' RpcVerified: VerifyWeight's answer as an
// enum, net/rpc carrying no *bool.
type Verified int32

// The answers of VerifyWeight, in Argo Rollouts' order.
const (
	NotVerified Verified = iota
	IsVerified
	NotImplemented
)

// Bool is the answer as the traffic.Router interface has it: nil when the
// plugin cannot verify. Any value Argo Rollouts does not define is "not
// verified", as there.
func (v Verified) Bool() *bool {
	switch v {
	case IsVerified:
		return new(true)
	case NotImplemented:
		return nil
	}
	return new(false)
}

// VerifyWeightResponse is Plugin.VerifyWeight's answer.
type VerifyWeightResponse struct {
	Verified Verified
	Err      plugins.RPCError
}

func init() {
	gob.RegisterName("UpdateHashArgs", new(UpdateHashArgs))
	gob.RegisterName("SetWeightAndVerifyWeightArgs", new(SetWeightAndVerifyWeightArgs))
	gob.RegisterName("SetHeaderArgs", new(SetHeaderArgs))
	gob.RegisterName("SetMirrorArgs", new(SetMirrorArgs))
	gob.RegisterName("RemoveManagedRoutesArgs", new(RemoveManagedRoutesArgs))
}

// RPC calls one plugin process's methods, as Argo Rollouts'
// TrafficRouterPluginRPC does. Each method returns the plugin's own error
// (its RpcError) apart from a failed call.
type RPC struct {
	Client *rpc.Client
}

// call sends args as an interface value, as Argo Rollouts does: the plugin
// finds the concrete type by its registered gob name.
func (r RPC) call(ctx context.Context, method string, args any, reply any) error {
	return plugins.Call(ctx, r.Client, "Plugin."+method, &args, reply)
}

// UpdateHash tells the plugin the canary and stable hashes.
func (r RPC) UpdateHash(ctx context.Context, ro *v1alpha1.Rollout, canaryHash, stableHash string, additional []v1alpha1.WeightDestination) (plugins.RPCError, error) {
	var resp plugins.RPCError
	err := r.call(ctx, "UpdateHash", UpdateHashArgs{Rollout: *ro, CanaryHash: canaryHash, StableHash: stableHash, AdditionalDestinations: additional}, &resp)
	return resp, err
}

// SetWeight gives the canary its weight.
func (r RPC) SetWeight(ctx context.Context, ro *v1alpha1.Rollout, weight int32, additional []v1alpha1.WeightDestination) (plugins.RPCError, error) {
	var resp plugins.RPCError
	err := r.call(ctx, "SetWeight", SetWeightAndVerifyWeightArgs{Rollout: *ro, DesiredWeight: weight, AdditionalDestinations: additional}, &resp)
	return resp, err
}

// SetHeaderRoute sets or removes a header route.
func (r RPC) SetHeaderRoute(ctx context.Context, ro *v1alpha1.Rollout, route *v1alpha1.SetHeaderRoute) (plugins.RPCError, error) {
	var resp plugins.RPCError
	err := r.call(ctx, "SetHeaderRoute", SetHeaderArgs{Rollout: *ro, SetHeaderRoute: *route}, &resp)
	return resp, err
}

// SetMirrorRoute sets or removes a mirror route.
func (r RPC) SetMirrorRoute(ctx context.Context, ro *v1alpha1.Rollout, route *v1alpha1.SetMirrorRoute) (plugins.RPCError, error) {
	var resp plugins.RPCError
	err := r.call(ctx, "SetMirrorRoute", SetMirrorArgs{Rollout: *ro, SetMirrorRoute: *route}, &resp)
	return resp, err
}

// VerifyWeight asks whether the weights took effect.
func (r RPC) VerifyWeight(ctx context.Context, ro *v1alpha1.Rollout, weight int32, additional []v1alpha1.WeightDestination) (VerifyWeightResponse, error) {
	var resp VerifyWeightResponse
	err := r.call(ctx, "VerifyWeight", SetWeightAndVerifyWeightArgs{Rollout: *ro, DesiredWeight: weight, AdditionalDestinations: additional}, &resp)
	return resp, err
}

// RemoveManagedRoutes removes the routes of trafficRouting.managedRoutes.
func (r RPC) RemoveManagedRoutes(ctx context.Context, ro *v1alpha1.Rollout) (plugins.RPCError, error) {
	var resp plugins.RPCError
	err := r.call(ctx, "RemoveManagedRoutes", RemoveManagedRoutesArgs{Rollout: *ro}, &resp)
	return resp, err
}

// Type is the plugin's own name for its router.
func (r RPC) Type(ctx context.Context) (string, error) {
	var t string
	err := plugins.Call(ctx, r.Client, "Plugin.Type", new(any), &t)
	return t, err
}

// DefaultCallTimeout bounds one call to a traffic router plugin. Argo
// Rollouts waits for ever, so a hung plugin holds a rollout worker until
// the controller restarts; here the call fails, and the reconcile is
// retried.
const DefaultCallTimeout = time.Minute

// Router is a traffic.Router that hands each call to the named plugin.
type Router struct {
	Host *plugins.Host
	// Name is the plugin's name, its key in trafficRouting.plugins.
	Name    string
	Rollout *v1alpha1.Rollout
	// CallTimeout bounds each call; zero is DefaultCallTimeout.
	CallTimeout time.Duration
}

var _ traffic.Router = (*Router)(nil)

// Type is the plugin's name: what the logs and errors name the router by.
func (r *Router) Type() string { return r.Name }

// do calls the plugin through f, bounded, and words a failure as Argo
// Rollouts does ("failed to <what> via plugin: ..."); a plugin the
// ConfigMap does not list is a spec problem, reported on the Rollout.
func (r *Router) do(ctx context.Context, method, what string, f func(context.Context, RPC) (plugins.RPCError, error)) error {
	c, err := r.Host.Client(r.Name)
	if errors.Is(err, plugins.ErrNotConfigured) {
		return &traffic.SpecError{Field: fmt.Sprintf("spec.strategy.canary.trafficRouting.plugins[%s]", r.Name),
			Msg: fmt.Sprintf("traffic router plugin %q is not listed under %s in ConfigMap %s as the controller read it at start: add it there and restart the controller",
				r.Name, plugins.TrafficRouter.Key(), plugins.ConfigMapName)}
	}
	if err != nil {
		return err
	}
	timeout := r.CallTimeout
	if timeout <= 0 {
		timeout = DefaultCallTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	resp, err := f(ctx, RPC{Client: c})
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("failed to %s via plugin: the plugin did not answer %s within %s", what, method, timeout)
	case err != nil:
		return fmt.Errorf("failed to %s via plugin: %s rpc call error: %w", what, method, err)
	case resp.Err() != nil:
		return fmt.Errorf("failed to %s via plugin: %w", what, resp)
	}
	return nil
}

// UpdateHash tells the plugin the hashes.
func (r *Router) UpdateHash(ctx context.Context, canaryHash, stableHash string, additional ...traffic.WeightDestination) error {
	return r.do(ctx, "UpdateHash", "update hash", func(ctx context.Context, c RPC) (plugins.RPCError, error) {
		return c.UpdateHash(ctx, r.Rollout, canaryHash, stableHash, additional)
	})
}

// SetWeight gives the canary its weight.
func (r *Router) SetWeight(ctx context.Context, weight int32, additional ...traffic.WeightDestination) error {
	return r.do(ctx, "SetWeight", "set weight", func(ctx context.Context, c RPC) (plugins.RPCError, error) {
		return c.SetWeight(ctx, r.Rollout, weight, additional)
	})
}

// SetHeaderRoute sets or removes a header route.
func (r *Router) SetHeaderRoute(ctx context.Context, route *v1alpha1.SetHeaderRoute) error {
	return r.do(ctx, "SetHeaderRoute", "set header route", func(ctx context.Context, c RPC) (plugins.RPCError, error) {
		return c.SetHeaderRoute(ctx, r.Rollout, route)
	})
}

// SetMirrorRoute sets or removes a mirror route.
func (r *Router) SetMirrorRoute(ctx context.Context, route *v1alpha1.SetMirrorRoute) error {
	return r.do(ctx, "SetMirrorRoute", "set mirror route", func(ctx context.Context, c RPC) (plugins.RPCError, error) {
		return c.SetMirrorRoute(ctx, r.Rollout, route)
	})
}

// RemoveManagedRoutes removes the managed routes.
func (r *Router) RemoveManagedRoutes(ctx context.Context) error {
	return r.do(ctx, "RemoveManagedRoutes", "remove managed routes", func(ctx context.Context, c RPC) (plugins.RPCError, error) {
		return c.RemoveManagedRoutes(ctx, r.Rollout)
	})
}

// VerifyWeight asks the plugin; nil when it cannot verify. As in Argo
// Rollouts, the answer stands beside the plugin's error.
func (r *Router) VerifyWeight(ctx context.Context, weight int32, additional ...traffic.WeightDestination) (*bool, error) {
	var verified *bool
	err := r.do(ctx, "VerifyWeight", "verify weight", func(ctx context.Context, c RPC) (plugins.RPCError, error) {
		resp, err := c.VerifyWeight(ctx, r.Rollout, weight, additional)
		if err != nil {
			resp = VerifyWeightResponse{} // a failed call is "not verified", as in Argo Rollouts
		}
		verified = resp.Verified.Bool()
		return resp.Err, err
	})
	return verified, err
}
