// Command step is a step plugin built on Argo Rollouts' own plugin
// packages (github.com/argoproj/argo-rollouts v1.9.2), which Aviary's tests
// run to prove its plugin host speaks Argo Rollouts' wire protocol. It
// records every call it is given, one JSON object a line, in the file
// --record names, for the test to read. It is a module of its own so that
// the controller never links Argo Rollouts.
//
// Its configuration is the step's plugin.config, a JSON object:
//
//	calls         Run succeeds at this call (counted in the status the
//	              controller keeps for it, so across restarts); 0 is 1
//	requeueAfter  what a Running answer asks for, a Go duration
//	fail          Run answers Failed with this message
//	error         Run answers this error
//	phase         Run answers this phase instead (to test bad answers)
//	echo          record the whole Rollout each call decoded
//
// Terminate and Abort answer Successful. Flags: --record FILE; --marker
// FILE writes FILE as the process starts.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	goPlugin "github.com/hashicorp/go-plugin"
	log "github.com/sirupsen/logrus"

	"github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	"github.com/argoproj/argo-rollouts/rollout/steps/plugin/rpc"
	"github.com/argoproj/argo-rollouts/utils/plugin/types"
)

// Type is what Plugin.Type answers.
const Type = "AviaryTestStep"

type config struct {
	Calls        int    `json:"calls"`
	RequeueAfter string `json:"requeueAfter"`
	Fail         string `json:"fail"`
	Error        string `json:"error"`
	Phase        string `json:"phase"`
	Echo         bool   `json:"echo"`
}

// state is what the plugin keeps in the controller's status between calls.
type state struct {
	Calls int `json:"calls"`
}

// call is one line of the record.
type call struct {
	Method     string            `json:"method"`
	Rollout    string            `json:"rollout"`
	Step       *int32            `json:"step,omitempty"`
	PluginName string            `json:"pluginName"`
	Config     json.RawMessage   `json:"config,omitempty"`
	Status     json.RawMessage   `json:"status,omitempty"`
	Received   *v1alpha1.Rollout `json:"received,omitempty"`
}

type step struct {
	record string
	mu     sync.Mutex
}

var _ rpc.StepPlugin = &step{}

func (s *step) InitPlugin() types.RpcError { return types.RpcError{} }

// handle records the call and reads its configuration and state.
func (s *step) handle(method string, ro *v1alpha1.Rollout, ctx *types.RpcStepContext) (config, state, error) {
	var c config
	var st state
	if len(ctx.Config) > 0 {
		if err := json.Unmarshal(ctx.Config, &c); err != nil {
			return c, st, fmt.Errorf("plugin configuration: %w", err)
		}
	}
	if len(ctx.Status) > 0 {
		if err := json.Unmarshal(ctx.Status, &st); err != nil {
			return c, st, fmt.Errorf("plugin status: %w", err)
		}
	}
	rec := call{Method: method, Rollout: ro.Namespace + "/" + ro.Name, Step: ro.Status.CurrentStepIndex,
		PluginName: ctx.PluginName, Config: ctx.Config, Status: ctx.Status}
	if c.Echo {
		rec.Received = ro
	}
	return c, st, s.write(rec)
}

func (s *step) write(c call) error {
	if s.record == "" {
		return nil
	}
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := os.OpenFile(s.record, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func (s *step) Run(ro *v1alpha1.Rollout, ctx *types.RpcStepContext) (types.RpcStepResult, types.RpcError) {
	c, st, err := s.handle("Run", ro, ctx)
	if err != nil {
		return types.RpcStepResult{}, types.RpcError{ErrorString: err.Error()}
	}
	if c.Error != "" {
		return types.RpcStepResult{}, types.RpcError{ErrorString: c.Error}
	}
	st.Calls++
	status, _ := json.Marshal(st)
	if c.Phase != "" {
		return types.RpcStepResult{Phase: types.StepPhase(c.Phase), Message: "told to answer " + c.Phase, Status: status}, types.RpcError{}
	}
	if c.Fail != "" {
		return types.RpcStepResult{Phase: types.PhaseFailed, Message: c.Fail, Status: status}, types.RpcError{}
	}
	if st.Calls >= max(c.Calls, 1) {
		return types.RpcStepResult{Phase: types.PhaseSuccessful, Message: fmt.Sprintf("done after %d calls", st.Calls), Status: status}, types.RpcError{}
	}
	var requeue time.Duration
	if c.RequeueAfter != "" {
		if requeue, err = time.ParseDuration(c.RequeueAfter); err != nil {
			return types.RpcStepResult{}, types.RpcError{ErrorString: "requeueAfter: " + err.Error()}
		}
	}
	return types.RpcStepResult{Phase: types.PhaseRunning, Message: fmt.Sprintf("call %d of %d", st.Calls, c.Calls), RequeueAfter: requeue, Status: status}, types.RpcError{}
}

func (s *step) Terminate(ro *v1alpha1.Rollout, ctx *types.RpcStepContext) (types.RpcStepResult, types.RpcError) {
	if _, _, err := s.handle("Terminate", ro, ctx); err != nil {
		return types.RpcStepResult{}, types.RpcError{ErrorString: err.Error()}
	}
	return types.RpcStepResult{Phase: types.PhaseSuccessful, Message: "terminated"}, types.RpcError{}
}

func (s *step) Abort(ro *v1alpha1.Rollout, ctx *types.RpcStepContext) (types.RpcStepResult, types.RpcError) {
	if _, _, err := s.handle("Abort", ro, ctx); err != nil {
		return types.RpcStepResult{}, types.RpcError{ErrorString: err.Error()}
	}
	return types.RpcStepResult{Phase: types.PhaseSuccessful, Message: "reverted"}, types.RpcError{}
}

func (s *step) Type() string { return Type }

func main() {
	record := flag.String("record", "", "append each call to this file, as a JSON line")
	marker := flag.String("marker", "", "write this file as the process starts")
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
			MagicCookieValue: "step",
		},
		Plugins: map[string]goPlugin.Plugin{
			"RpcStepPlugin": &rpc.RpcStepPlugin{Impl: &step{record: *record}},
		},
	})
}
