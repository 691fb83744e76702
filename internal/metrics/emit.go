package metrics

import (
	"context"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// gaugeFamily is a gauge family read from the cache at scrape time, as
// the text writer and client_golang each need it.
type gaugeFamily struct {
	family
	desc *prometheus.Desc
}

func newGauge(name, help string, labels ...string) *gaugeFamily {
	return &gaugeFamily{family: newFamily(name, help, "gauge", labels), desc: prometheus.NewDesc(name, help, labels, nil)}
}

// emitter receives the samples of the state collectors, family after
// family, and either writes them as text (t set) or sends them as const
// metrics to client_golang (ch set): one function builds the samples for
// both, so the two ways of serving a scrape cannot differ.
type emitter struct {
	t  *textWriter
	ch chan<- prometheus.Metric
	// started is the family whose header t has written.
	started *gaugeFamily
}

// gauge emits one sample of f; a family's header is written before its
// first sample, so a family without samples does not appear (as with
// client_golang).
func (e *emitter) gauge(f *gaugeFamily, v float64, values ...string) {
	if e.ch != nil {
		e.ch <- prometheus.MustNewConstMetric(f.desc, prometheus.GaugeValue, v, values...)
		return
	}
	if e.started != f {
		e.t.header(&f.family)
		e.started = f
	}
	e.t.gauge(&f.family, v, values)
}

// collectState serves a state collector's Collect: read the cache (within
// listTimeout), then emit its samples as const metrics; a failed read is
// reported as an invalid metric of f.
func collectState[R any](ch chan<- prometheus.Metric, f *gaugeFamily, read func(context.Context) (R, error), emit func(R, *emitter)) {
	ctx, cancel := context.WithTimeout(context.Background(), listTimeout)
	defer cancel()
	rows, err := read(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(f.desc, err)
		return
	}
	emit(rows, &emitter{ch: ch})
}

// snapshotState serves a state collector's snapshot: read the cache now,
// write the text later.
func snapshotState[R any](ctx context.Context, what string, read func(context.Context) (R, error), emit func(R, *emitter)) (func(*textWriter), error) {
	rows, err := read(ctx)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", what, err)
	}
	return func(t *textWriter) { emit(rows, &emitter{t: t}) }, nil
}

// A streamer is a collector whose families can also be written straight
// as text. snapshot reads its state (from the cache, or copied under its
// lock) and returns the function that writes it; an error fails the scrape
// before anything is written.
type streamer interface {
	prometheus.Collector
	snapshot(ctx context.Context) (func(*textWriter), error)
}

// informerSource is the manager's cache, which hands out its informers.
type informerSource interface {
	GetInformer(ctx context.Context, obj client.Object, opts ...cache.InformerGetOption) (cache.Informer, error)
}

// eachCached calls f with every object of obj's kind the reader holds,
// read only. From the manager's cache it walks the informer's store,
// which holds pointers: listing through the reader would copy every
// object's struct into a list (1.6 KB a Rollout) on each scrape. Other
// readers (a namespaced cache, tests) are listed.
func eachCached[P interface {
	*T
	client.Object
}, T any](ctx context.Context, r client.Reader, list client.ObjectList, f func(P)) error {
	if src, ok := r.(informerSource); ok {
		inf, err := src.GetInformer(ctx, P(new(T)))
		if err != nil {
			return err
		}
		if s, ok := inf.(interface{ GetStore() toolscache.Store }); ok {
			for _, o := range s.GetStore().List() {
				if p, ok := o.(P); ok {
					f(p)
				}
			}
			return nil
		}
	}
	if err := r.List(ctx, list, client.UnsafeDisableDeepCopy); err != nil {
		return err
	}
	return meta.EachListItem(list, func(o runtime.Object) error {
		if p, ok := o.(P); ok {
			f(p)
		}
		return nil
	})
}
