package metrics

import (
	"bufio"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

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

	mu        sync.Mutex
	streamers []streamer
}

// NewExposition serves rest's families and those registered with the
// exposition.
func NewExposition(rest Registry) *Exposition {
	own := prometheus.NewRegistry()
	return &Exposition{
		rest: rest,
		own:  own,
		// As controller-runtime serves its registry: a collector that
		// fails fails the scrape.
		full: promhttp.HandlerFor(prometheus.Gatherers{rest, own}, promhttp.HandlerOpts{ErrorHandling: promhttp.HTTPErrorOnError}),
	}
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
	format := expfmt.Negotiate(r.Header)
	if format.FormatType() != expfmt.TypeTextPlain {
		e.full.ServeHTTP(w, r)
		return
	}
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
	var out io.Writer = w
	if acceptsGzip(r.Header.Get("Accept-Encoding")) {
		w.Header().Set("Content-Encoding", "gzip")
		gz := gzipWriters.Get().(*gzip.Writer)
		gz.Reset(w)
		defer func() {
			_ = gz.Close()
			gzipWriters.Put(gz)
		}()
		out = gz
	}
	bw := bufio.NewWriterSize(out, 32<<10)
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

// gzipWriters keeps the compressors between scrapes: each holds several
// hundred kilobytes of tables.
var gzipWriters = sync.Pool{New: func() any { return gzip.NewWriter(nil) }}

// acceptsGzip says whether an Accept-Encoding header admits gzip: named
// with a quality other than 0, or else admitted by *.
func acceptsGzip(header string) bool {
	gzipQ, anyQ := -1.0, -1.0
	for part := range strings.SplitSeq(header, ",") {
		name, params, _ := strings.Cut(part, ";")
		q := 1.0
		for p := range strings.SplitSeq(params, ";") {
			if k, v, ok := strings.Cut(p, "="); ok && strings.TrimSpace(k) == "q" {
				if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
					q = f
				}
			}
		}
		switch strings.TrimSpace(name) {
		case "gzip":
			gzipQ = q
		case "*":
			anyQ = q
		}
	}
	if gzipQ >= 0 {
		return gzipQ > 0
	}
	return anyQ > 0
}

var _ prometheus.Registerer = (*Exposition)(nil)
