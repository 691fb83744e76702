package plugin

import (
	"context"
	"crypto/sha256"
	"encoding/gob"
	"errors"
	"fmt"
	"log/slog"
	"net/rpc"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"

	goplugin "github.com/hashicorp/go-plugin"
)

// RPCError is Argo Rollouts' error over net/rpc (its types.RpcError): the
// RPC methods of plugins answer one, and an empty ErrorString is no error.
// Registered under Argo's gob name, "RpcError".
type RPCError struct {
	ErrorString string
}

func init() {
	gob.RegisterName("RpcError", new(RPCError))
}

func (e RPCError) Error() string { return e.ErrorString }

// Err is e as an error, nil when it holds none.
func (e RPCError) Err() error {
	if e.ErrorString == "" {
		return nil
	}
	return e
}

// protocolVersion and cookieKey are Argo Rollouts' handshake; the cookie's
// value is the kind's.
const (
	protocolVersion = 1
	cookieKey       = "ARGO_ROLLOUTS_RPC_PLUGIN"
)

// Host runs the plugin processes of one kind: each is started on first use,
// started again on the next use after it died, and killed by Stop.
type Host struct {
	kind    Kind
	log     *slog.Logger
	plugins map[string]*process
	stopped atomic.Bool
}

// process is one plugin's binary and, while it runs, its process.
type process struct {
	bin Binary
	mu  sync.Mutex
	c   *goplugin.Client
	rpc *rpc.Client
}

// NewHost hosts bins, all of kind.
func NewHost(kind Kind, bins []Binary, log *slog.Logger) *Host {
	h := &Host{kind: kind, log: log, plugins: map[string]*process{}}
	for _, b := range bins {
		h.plugins[b.Name] = &process{bin: b}
	}
	return h
}

// ErrNotConfigured is returned for a plugin name the ConfigMap did not
// list when the controller started.
var ErrNotConfigured = errors.New("not configured")

// Has reports whether the ConfigMap listed the named plugin of this kind
// when the controller started. A nil Host has none.
func (h *Host) Has(name string) bool {
	return h != nil && h.plugins[name] != nil
}

// Disabled reports whether the named plugin is listed with disabled: true
// (a step plugin the controller is to skip).
func (h *Host) Disabled(name string) bool {
	return h.Has(name) && h.plugins[name].bin.Disabled
}

// Client returns an RPC client of the named plugin's object, starting (and
// initializing) the process if it is not running. Argo Rollouts pings the
// process on every use; so does Host, and a process that does not answer
// (one that just died, say) is killed and started once more at once.
func (h *Host) Client(name string) (*rpc.Client, error) {
	if !h.Has(name) {
		return nil, fmt.Errorf("plugin %q: %w", name, ErrNotConfigured)
	}
	p := h.plugins[name]
	p.mu.Lock()
	defer p.mu.Unlock()
	var err error
	for range 2 {
		if h.stopped.Load() {
			return nil, fmt.Errorf("%s plugin %q: the controller is stopping", h.kind, name)
		}
		if p.c == nil {
			if err := h.start(p); err != nil {
				p.stop()
				return nil, fmt.Errorf("start %s plugin %q: %w", h.kind, name, err)
			}
		}
		var proto goplugin.ClientProtocol
		if proto, err = p.c.Client(); err == nil {
			err = proto.Ping()
		}
		if err == nil {
			return p.rpc, nil
		}
		h.log.Warn("plugin process does not answer; starting it again", "kind", h.kind, "plugin", name, "err", err)
		p.stop()
	}
	return nil, fmt.Errorf("%s plugin %q does not answer: %w", h.kind, name, err)
}

// start launches the process, dispenses the kind's object and calls its
// InitPlugin, as Argo Rollouts does once per process.
func (h *Host) start(p *process) error {
	cmd := exec.Command(p.bin.Path, p.bin.Args...)
	dieWithParent(cmd)
	p.c = goplugin.NewClient(&goplugin.ClientConfig{
		HandshakeConfig: goplugin.HandshakeConfig{ProtocolVersion: protocolVersion, MagicCookieKey: cookieKey, MagicCookieValue: h.kind.cookie()},
		Plugins:         goplugin.PluginSet{h.kind.dispense(): rpcObject{}},
		Cmd:             cmd,
		// go-plugin checks the file against the fetched checksum right
		// before it starts it: nothing else than what was verified runs.
		SecureConfig: &goplugin.SecureConfig{Checksum: p.bin.Sum, Hash: sha256.New()},
		Logger:       newLogger(h.log.With("kind", h.kind, "plugin", p.bin.Name), filepath.Base(p.bin.Path)),
	})
	proto, err := p.c.Client()
	if err != nil {
		return err
	}
	obj, err := proto.Dispense(h.kind.dispense())
	if err != nil {
		return fmt.Errorf("dispense %s: %w", h.kind.dispense(), err)
	}
	p.rpc = obj.(*rpc.Client)
	var resp RPCError
	if err := p.rpc.Call("Plugin.InitPlugin", new(any), &resp); err != nil {
		return fmt.Errorf("InitPlugin: %w", err)
	}
	if err := resp.Err(); err != nil {
		return fmt.Errorf("InitPlugin: the plugin answered: %w", err)
	}
	h.log.Info("plugin process started", "kind", h.kind, "plugin", p.bin.Name, "path", p.bin.Path)
	return nil
}

// stop kills the process, if any; p.mu is held.
func (p *process) stop() {
	if p.c != nil {
		p.c.Kill()
	}
	p.c, p.rpc = nil, nil
}

// Stop kills every plugin process, waits for them to exit, and starts no
// other.
func (h *Host) Stop() {
	h.stopped.Store(true)
	var wg sync.WaitGroup
	for _, p := range h.plugins {
		wg.Go(func() {
			p.mu.Lock()
			defer p.mu.Unlock()
			p.stop()
		})
	}
	wg.Wait()
}

// Call is c.Call that gives up when ctx ends (net/rpc has no deadline of
// its own). The reply must not be read after an error.
func Call(ctx context.Context, c *rpc.Client, method string, args, reply any) error {
	call := c.Go(method, args, reply, make(chan *rpc.Call, 1))
	select {
	case <-call.Done:
		return call.Error
	case <-ctx.Done():
		return ctx.Err()
	}
}

// rpcObject is the go-plugin Plugin of every kind on the host's side: the
// client is the plugin's net/rpc connection itself, which each kind's
// package calls with Argo Rollouts' service methods and arguments.
type rpcObject struct{}

func (rpcObject) Server(*goplugin.MuxBroker) (any, error) {
	return nil, errors.New("aviary hosts plugins; it serves none")
}

func (rpcObject) Client(_ *goplugin.MuxBroker, c *rpc.Client) (any, error) {
	return c, nil
}
