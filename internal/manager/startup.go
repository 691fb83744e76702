package manager

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-logr/logr"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// WatchedKinds are the argoproj.io kinds the controller lists and watches.
var WatchedKinds = []string{"Rollout", "AnalysisTemplate", "ClusterAnalysisTemplate", "AnalysisRun", "Experiment"}

// ResourceLister is the part of a discovery client WaitForCRDs reads.
type ResourceLister interface {
	ServerResourcesForGroupVersion(groupVersion string) (*metav1.APIResourceList, error)
}

// WaitForCRDs returns once the API server serves every kind in
// WatchedKinds. Applied in one `kubectl apply` with its CRDs, the controller
// can start before they are established; instead of exiting (and
// crash-looping until they are), it logs what is missing every interval and
// waits. It returns ctx's error if ctx ends first.
func WaitForCRDs(ctx context.Context, d ResourceLister, log *slog.Logger, interval time.Duration) error {
	start := time.Now()
	for waited := false; ; waited = true {
		missing, err := missingKinds(d)
		if err == nil && len(missing) == 0 {
			if waited {
				log.Info("the argoproj.io CRDs are established", "waited", time.Since(start).Round(time.Second).String())
			}
			return nil
		}
		waitedFor := time.Since(start).Round(time.Second).String()
		switch {
		case apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err):
			// Not a missing CRD: the credentials may not read the API
			// (RBAC applied after the controller, a wrong token). Keep
			// waiting, as RBAC may still arrive, but say what is wrong.
			log.Info("waiting to be allowed to read the argoproj.io API: the API server refuses the controller's credentials", "waited", waitedFor,
				"hint", "grant the controller's ServiceAccount the ClusterRole in dist/install.yaml (or the Role in dist/namespace-install.yaml), or fix its token or kubeconfig",
				"error", err.Error())
		default:
			attrs := []any{"waited", waitedFor,
				"hint", "install them with `kubectl apply -f dist/install.yaml` or `kubectl apply -f config/crd`"}
			if err != nil {
				attrs = append(attrs, "error", err.Error())
			}
			log.Info(fmt.Sprintf("waiting for the argoproj.io CRDs to be established: %s not served yet", strings.Join(missing, ", ")), attrs...)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: stopped while waiting for %s: %w", ErrCRDsMissing, strings.Join(missing, ", "), ctx.Err())
		case <-time.After(interval):
		}
	}
}

// missingKinds lists the watched kinds argoproj.io/v1alpha1 does not serve
// (all of them when the group version itself is not served, or discovery
// fails).
func missingKinds(d ResourceLister) ([]string, error) {
	list, err := d.ServerResourcesForGroupVersion(v1alpha1.GroupVersion.String())
	served := map[string]bool{}
	if err == nil && list != nil {
		for _, r := range list.APIResources {
			served[r.Kind] = true
		}
	}
	var missing []string
	for _, k := range WatchedKinds {
		if !served[k] {
			missing = append(missing, k)
		}
	}
	return missing, err
}

// ServeHealthz answers /healthz on addr until stop is called, so a liveness
// probe does not kill a controller that is only waiting for its CRDs (it is
// not ready: /readyz and /metrics are not served yet). With addr empty or
// "0" it does nothing.
func ServeHealthz(addr string) (stop func(), err error) {
	if addr == "" || addr == "0" {
		return func() {}, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on the health address %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok: waiting for the argoproj.io CRDs"))
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln) // ErrServerClosed once stopped
	}()
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		<-done
	}, nil
}

// KlogLogger is the logger client-go's klog writes through: log's handler,
// letting klog's V(n) messages through up to verbosity (logr's V(n) is slog
// level -n, below info, which log's own level would drop), and klog's
// verbosity set to it, as Argo Rollouts' --kloglevel does.
func KlogLogger(log *slog.Logger, verbosity int) (logr.Logger, error) {
	var fs flag.FlagSet
	klog.InitFlags(&fs)
	if err := fs.Set("v", strconv.Itoa(verbosity)); err != nil {
		return logr.Logger{}, fmt.Errorf("set klog verbosity %d: %w", verbosity, err)
	}
	return logr.FromSlogHandler(verbosityHandler{log.Handler(), slog.Level(-verbosity)}), nil
}

// verbosityHandler enables, besides what h enables, every level from min up.
type verbosityHandler struct {
	h   slog.Handler
	min slog.Level
}

func (v verbosityHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return (l < slog.LevelInfo && l >= v.min) || v.h.Enabled(ctx, l)
}

func (v verbosityHandler) Handle(ctx context.Context, r slog.Record) error { return v.h.Handle(ctx, r) }

func (v verbosityHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return verbosityHandler{v.h.WithAttrs(attrs), v.min}
}

func (v verbosityHandler) WithGroup(name string) slog.Handler {
	return verbosityHandler{v.h.WithGroup(name), v.min}
}
