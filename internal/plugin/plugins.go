package plugin

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Plugins are the plugins of the kinds the controller runs: their binaries,
// in a directory of this process's own, and their hosts.
type Plugins struct {
	dir   string
	hosts map[Kind]*Host
}

// Prepare reads the ConfigMap from namespace and fetches the plugins of
// kinds. As Argo Rollouts, it reads the ConfigMap once: the controller
// runs the plugins listed when it started. An error (a malformed ConfigMap,
// a plugin that cannot be fetched or does not match its sha256) is the
// controller's to refuse to start with.
func Prepare(ctx context.Context, r client.Reader, namespace string, kinds []Kind, log *slog.Logger) (*Plugins, error) {
	cfg, err := Load(ctx, r, namespace)
	if err != nil {
		return nil, err
	}
	p := &Plugins{hosts: map[Kind]*Host{}}
	var items []Item
	for _, k := range kinds {
		items = append(items, cfg.Of(k)...)
	}
	var bins []Binary
	if len(items) > 0 {
		// A fresh directory each start, as Argo Rollouts fetches each
		// start: nothing left by another process is ever run.
		if p.dir, err = os.MkdirTemp("", "aviary-plugins-"); err != nil {
			return nil, fmt.Errorf("create a directory for the plugins (set TMPDIR to a writable directory): %w", err)
		}
		f := &Fetcher{Dir: p.dir, Secrets: r, Namespace: namespace, Log: log}
		if bins, err = f.Fetch(ctx, items); err != nil {
			p.Stop()
			return nil, fmt.Errorf("the controller does not start without the plugins ConfigMap %s/%s lists: %w", namespace, ConfigMapName, err)
		}
	}
	for _, k := range kinds {
		var of []Binary
		for _, b := range bins {
			if b.Kind == k {
				of = append(of, b)
			}
		}
		p.hosts[k] = NewHost(k, of, log)
	}
	return p, nil
}

// Host is the host of kind's plugins; it hosts none when kind was not
// prepared.
func (p *Plugins) Host(kind Kind) *Host {
	if h := p.hosts[kind]; h != nil {
		return h
	}
	return NewHost(kind, nil, slog.New(slog.DiscardHandler))
}

// Stop kills every plugin process and deletes the binaries.
func (p *Plugins) Stop() {
	for _, h := range p.hosts {
		h.Stop()
	}
	if p.dir != "" {
		_ = os.RemoveAll(p.dir)
	}
}

// Start stops the plugins when ctx ends: Plugins is a runnable of the
// controller's manager.
func (p *Plugins) Start(ctx context.Context) error {
	<-ctx.Done()
	p.Stop()
	return nil
}

// NeedLeaderElection is false: a standby replica starts no plugin, but a
// leader that steps down must still stop those it started.
func (p *Plugins) NeedLeaderElection() bool { return false }
