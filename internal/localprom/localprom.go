// Package localprom runs a real Prometheus server on this machine, scraping
// the given targets every second: the Prometheus the tests and the demo
// measure canaries against. It runs the `prometheus` on PATH (Debian's
// package, say), else one it builds once from the Go module proxy into
// ~/.cache/aviary (see package prombin).
package localprom

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/aviary-rollouts/aviary/internal/localprom/prombin"
)

// Server is a running Prometheus.
type Server struct {
	// Address is the base URL, as a metric's `address` names it.
	Address string
	cmd     *exec.Cmd
	done    chan struct{}
	out     syncBuffer
}

// Options say where Prometheus keeps its files and what it scrapes.
type Options struct {
	// Dir holds the configuration and the TSDB; it must exist.
	Dir string
	// Listen is host:port of the web server.
	Listen string
	// Targets are the host:port endpoints scraped (at /metrics), as job
	// "ingress".
	Targets []string
	// Jobs are more endpoints scraped, by the job name their series are
	// labelled with (job="…"), as a ServiceMonitor names a job after its
	// Service.
	Jobs map[string][]string
	// Binary is the prometheus to run; empty, prombin.Binary finds or
	// builds one.
	Binary string
	// Log receives the progress of a build of prometheus (default
	// standard error).
	Log io.Writer
}

// Start runs prometheus and waits (up to 30 s, or ctx) until every target
// has been scraped successfully. Without o.Binary it runs the one on PATH,
// else the cached build, building it first if need be (minutes, once).
func Start(ctx context.Context, o Options) (*Server, error) {
	bin := o.Binary
	if bin == "" {
		log := o.Log
		if log == nil {
			log = os.Stderr
		}
		var err error
		if bin, err = prombin.Binary(ctx, log); err != nil {
			return nil, err
		}
	}
	cfg := "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n"
	jobs := map[string][]string{"ingress": o.Targets}
	maps.Copy(jobs, o.Jobs)
	count := 0
	for _, name := range slices.Sorted(maps.Keys(jobs)) {
		if len(jobs[name]) == 0 {
			continue
		}
		targets, _ := json.Marshal(jobs[name])
		cfg += fmt.Sprintf("  - job_name: %q\n    static_configs:\n      - targets: %s\n", name, targets)
		count += len(jobs[name])
	}
	cfgFile := filepath.Join(o.Dir, "prometheus.yml")
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o644); err != nil {
		return nil, fmt.Errorf("write %s: %w", cfgFile, err)
	}
	s := &Server{Address: "http://" + o.Listen, done: make(chan struct{})}
	s.cmd = exec.Command(bin, "--config.file="+cfgFile, "--storage.tsdb.path="+filepath.Join(o.Dir, "data"),
		"--web.listen-address="+o.Listen, "--log.level=warn")
	s.cmd.Stdout, s.cmd.Stderr = &s.out, &s.out
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start prometheus: %w", err)
	}
	go func() { _ = s.cmd.Wait(); close(s.done) }()
	if err := s.waitUp(ctx, count); err != nil {
		s.Stop()
		return nil, fmt.Errorf("%w\nprometheus output:\n%s", err, s.Output())
	}
	return s, nil
}

func (s *Server) waitUp(ctx context.Context, targets int) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		up, err := s.Query(ctx, "sum(up)")
		if err == nil && len(up) == 1 && int(up[0]) == targets {
			return nil
		}
		select {
		case <-s.done:
			return errors.New("prometheus exited")
		case <-ctx.Done():
			return fmt.Errorf("prometheus did not scrape its %d target(s) within 30s (last: %v %v)", targets, up, err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Query runs an instant query and returns the values of its vector (or
// scalar) result; no sample is an empty slice, not an error.
func (s *Server) Query(ctx context.Context, q string) ([]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.Address+"/api/v1/query?query="+url.QueryEscape(q), nil)
	if err != nil {
		return nil, err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, err
	}
	var r struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string          `json:"resultType"`
			Result     json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("query %q: %s: %w", q, res.Status, err)
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("query %q: %s", q, r.Error)
	}
	var out []float64
	parse := func(v []any) error {
		if len(v) != 2 {
			return fmt.Errorf("query %q: sample %v", q, v)
		}
		str, _ := v[1].(string)
		f, err := strconv.ParseFloat(str, 64)
		if err != nil {
			return fmt.Errorf("query %q: value %v: %w", q, v[1], err)
		}
		out = append(out, f)
		return nil
	}
	switch r.Data.ResultType {
	case "vector":
		var vec []struct {
			Value []any `json:"value"`
		}
		if err := json.Unmarshal(r.Data.Result, &vec); err != nil {
			return nil, err
		}
		for _, e := range vec {
			if err := parse(e.Value); err != nil {
				return nil, err
			}
		}
	case "scalar":
		var v []any
		if err := json.Unmarshal(r.Data.Result, &v); err != nil {
			return nil, err
		}
		if err := parse(v); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("query %q: result type %q", q, r.Data.ResultType)
	}
	return out, nil
}

// Output is what prometheus printed.
func (s *Server) Output() string { return s.out.String() }

// Stop kills the server and waits for it to exit.
func (s *Server) Stop() {
	_ = s.cmd.Process.Kill()
	<-s.done
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
