// Command trafficrouter is a traffic router plugin built on Argo Rollouts'
// own plugin packages (github.com/argoproj/argo-rollouts v1.9.2), which
// Aviary's tests run to prove its plugin host speaks Argo Rollouts' wire
// protocol. It routes nothing: it records every call it is given, one JSON
// object a line, in the file --record names, for the test to read. It is a
// module of its own so that the controller never links Argo Rollouts.
//
// Its configuration is the Rollout's
// trafficRouting.plugins["aviary-test/router"] (--name), a JSON object:
//
//	verify       what VerifyWeight answers: "verified", "notVerified",
//	             anything else is "not implemented" (nil)
//	fail         the method (e.g. "SetWeight") that answers an error
//	echo         record the whole Rollout each call decoded
//
// Flags: --record FILE; --marker FILE writes FILE as the process starts
// (proof that it ran); --fail-init makes InitPlugin fail.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strconv"
	"sync"

	goPlugin "github.com/hashicorp/go-plugin"
	log "github.com/sirupsen/logrus"

	"github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	"github.com/argoproj/argo-rollouts/rollout/trafficrouting/plugin/rpc"
	"github.com/argoproj/argo-rollouts/utils/plugin/types"
)

// Type is what Plugin.Type answers.
const Type = "AviaryTestRouter"

type config struct {
	Verify string `json:"verify"`
	Fail   string `json:"fail"`
	Echo   bool   `json:"echo"`
}

// call is one line of the record.
type call struct {
	Method      string                       `json:"method"`
	Rollout     string                       `json:"rollout"`
	Weight      *int32                       `json:"weight,omitempty"`
	CanaryHash  string                       `json:"canaryHash,omitempty"`
	StableHash  string                       `json:"stableHash,omitempty"`
	Additional  []v1alpha1.WeightDestination `json:"additional,omitempty"`
	HeaderRoute *v1alpha1.SetHeaderRoute     `json:"headerRoute,omitempty"`
	MirrorRoute *v1alpha1.SetMirrorRoute     `json:"mirrorRoute,omitempty"`
	Received    *v1alpha1.Rollout            `json:"received,omitempty"`
}

type router struct {
	name     string
	record   string
	failInit bool
	mu       sync.Mutex
}

var _ rpc.TrafficRouterPlugin = &router{}

func (r *router) InitPlugin() types.RpcError {
	if r.failInit {
		return types.RpcError{ErrorString: "told to fail InitPlugin"}
	}
	return types.RpcError{}
}

func (r *router) config(ro *v1alpha1.Rollout) (config, error) {
	var c config
	if ro.Spec.Strategy.Canary == nil || ro.Spec.Strategy.Canary.TrafficRouting == nil {
		return c, fmt.Errorf("rollout %s/%s has no trafficRouting", ro.Namespace, ro.Name)
	}
	raw, ok := ro.Spec.Strategy.Canary.TrafficRouting.Plugins[r.name]
	if !ok {
		return c, fmt.Errorf("rollout %s/%s has no trafficRouting.plugins[%q]", ro.Namespace, ro.Name, r.name)
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return c, fmt.Errorf("plugin configuration: %w", err)
	}
	return c, nil
}

// handle records c and answers the configured error for its method.
func (r *router) handle(ro *v1alpha1.Rollout, c call) types.RpcError {
	cfg, err := r.config(ro)
	if err != nil {
		return types.RpcError{ErrorString: err.Error()}
	}
	c.Rollout = ro.Namespace + "/" + ro.Name
	if cfg.Echo {
		c.Received = ro
	}
	if err := r.write(c); err != nil {
		return types.RpcError{ErrorString: err.Error()}
	}
	if cfg.Fail == c.Method {
		return types.RpcError{ErrorString: "told to fail " + c.Method}
	}
	return types.RpcError{}
}

func (r *router) write(c call) error {
	if r.record == "" {
		return nil
	}
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	f, err := os.OpenFile(r.record, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func (r *router) UpdateHash(ro *v1alpha1.Rollout, canaryHash, stableHash string, additional []v1alpha1.WeightDestination) types.RpcError {
	return r.handle(ro, call{Method: "UpdateHash", CanaryHash: canaryHash, StableHash: stableHash, Additional: additional})
}

func (r *router) SetWeight(ro *v1alpha1.Rollout, weight int32, additional []v1alpha1.WeightDestination) types.RpcError {
	return r.handle(ro, call{Method: "SetWeight", Weight: &weight, Additional: additional})
}

func (r *router) SetHeaderRoute(ro *v1alpha1.Rollout, route *v1alpha1.SetHeaderRoute) types.RpcError {
	return r.handle(ro, call{Method: "SetHeaderRoute", HeaderRoute: route})
}

func (r *router) SetMirrorRoute(ro *v1alpha1.Rollout, route *v1alpha1.SetMirrorRoute) types.RpcError {
	return r.handle(ro, call{Method: "SetMirrorRoute", MirrorRoute: route})
}

func (r *router) VerifyWeight(ro *v1alpha1.Rollout, weight int32, additional []v1alpha1.WeightDestination) (types.RpcVerified, types.RpcError) {
	if err := r.handle(ro, call{Method: "VerifyWeight", Weight: &weight, Additional: additional}); err.HasError() {
		return types.NotVerified, err
	}
	cfg, _ := r.config(ro)
	switch cfg.Verify {
	case "verified":
		return types.Verified, types.RpcError{}
	case "notVerified":
		return types.NotVerified, types.RpcError{}
	}
	return types.NotImplemented, types.RpcError{}
}

func (r *router) RemoveManagedRoutes(ro *v1alpha1.Rollout) types.RpcError {
	return r.handle(ro, call{Method: "RemoveManagedRoutes"})
}

func (r *router) Type() string { return Type }

func main() {
	name := flag.String("name", "aviary-test/router", "the plugin's name, the key of its configuration in trafficRouting.plugins")
	record := flag.String("record", "", "append each call to this file, as a JSON line")
	marker := flag.String("marker", "", "write this file as the process starts")
	failInit := flag.Bool("fail-init", false, "make InitPlugin fail")
	flag.Parse()
	if *marker != "" {
		if err := os.WriteFile(*marker, []byte(strconv.Itoa(os.Getpid())), 0o600); err != nil {
			log.Fatal(err)
		}
	}
	goPlugin.Serve(&goPlugin.ServeConfig{
		HandshakeConfig: goPlugin.HandshakeConfig{
			ProtocolVersion:  1,
			MagicCookieKey:   "ARGO_ROLLOUTS_RPC_PLUGIN",
			MagicCookieValue: "trafficrouter",
		},
		Plugins: map[string]goPlugin.Plugin{
			"RpcTrafficRouterPlugin": &rpc.RpcTrafficRouterPlugin{Impl: &router{name: *name, record: *record, failInit: *failInit}},
		},
	})
}
