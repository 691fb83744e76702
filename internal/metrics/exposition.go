package metrics

import (
	"bufio"
	"context"
	"errors"
	"net/http"
	"sync"

	"github.com/klauspost/compress/gzhttp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/expfmt"
)

// Registry is where the process's collectors are registered: the
// prometheus.Registerer and Gatherer client_golang and controller-runtime
// use (controller-runtime's metrics.Registry).
type Registry interface {
	prometheus.Registerer
	prometheus.Gatherer
}

// Exposition serves /metrics. The per-object families (the state read
// from the cache and the compact per-object series) are written straight
// as text (text.go says why) and everything else — client-go's,
// controller-runtime's, the Go runtime's — is gathered by client_golang
// from rest. A scraper that asks for another format (protobuf,
// OpenMetrics) gets client_golang's handler over both.
type Exposition struct {
	rest Registry
	// own holds the streamed collectors too, for client_golang's handler.
	own  *prometheus.Registry
	full http.Handler
	// text serves the text format, gzip-compressed when the scraper
	// accepts it (klauspost's gzhttp negotiates and pools the writers).
	text http.Handler

	mu        sync.Mutex
	streamers []streamer
}

// NewExposition serves rest's families and those registered with the
// exposition.
func NewExposition(rest Registry) *Exposition {
	own := prometheus.NewRegistry()
	e := &Exposition{
		rest: rest,
		own:  own,
		// As controller-runtime serves its registry: a collector that
		// fails fails the scrape.
		full: promhttp.HandlerFor(prometheus.Gatherers{rest, own}, promhttp.HandlerOpts{ErrorHandling: promhttp.HTTPErrorOnError}),
	}
	e.text = gzhttp.GzipHandler(http.HandlerFunc(e.serveText))
	return e
}

// Register implements prometheus.Registerer: the per-object collectors
// of this package are streamed, others go to rest.
func (e *Exposition) Register(c prometheus.Collector) error {
	s, ok := c.(streamer)
	if !ok {
		return e.rest.Register(c)
	}
	if err := e.own.Register(c); err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.streamers = append(e.streamers, s)
	return nil
}

// MustRegister implements prometheus.Registerer.
func (e *Exposition) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		if err := e.Register(c); err != nil {
			panic(err)
		}
	}
}

// Unregister implements prometheus.Registerer.
func (e *Exposition) Unregister(c prometheus.Collector) bool {
	s, ok := c.(streamer)
	if !ok {
		return e.rest.Unregister(c)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for i, have := range e.streamers {
		if have == s {
			e.streamers = append(e.streamers[:i], e.streamers[i+1:]...)
			break
		}
	}
	return e.own.Unregister(c)
}

// ServeHTTP serves one scrape.
func (e *Exposition) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if expfmt.Negotiate(r.Header).FormatType() != expfmt.TypeTextPlain {
		e.full.ServeHTTP(w, r)
		return
	}
	e.text.ServeHTTP(w, r)
}

// serveText writes the text format: client_golang's encoding of rest's
// families, then the streamed ones.
func (e *Exposition) serveText(w http.ResponseWriter, r *http.Request) {
	format := expfmt.Negotiate(r.Header)
	ctx, cancel := context.WithTimeout(r.Context(), listTimeout)
	defer cancel()
	// Everything is read before the first byte is written, so a failure
	// is still an HTTP error, as client_golang's handler reports it.
	e.mu.Lock()
	streamers := append([]streamer(nil), e.streamers...)
	e.mu.Unlock()
	writers := make([]func(*textWriter), 0, len(streamers))
	var errs []error
	for _, s := range streamers {
		write, err := s.snapshot(ctx)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		writers = append(writers, write)
	}
	families, err := e.rest.Gather()
	if err = errors.Join(append(errs, err)...); err != nil {
		http.Error(w, "An error has occurred while serving metrics:\n\n"+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", string(format))
	bw := bufio.NewWriterSize(w, 32<<10)
	enc := expfmt.NewEncoder(bw, format)
	for _, mf := range families {
		if err := enc.Encode(mf); err != nil {
			// Part of the body is sent: nothing to report it in but
			// the cut-short body.
			return
		}
	}
	t := &textWriter{w: bw}
	for _, write := range writers {
		write(t)
	}
	_ = bw.Flush()
}

var _ prometheus.Registerer = (*Exposition)(nil)
