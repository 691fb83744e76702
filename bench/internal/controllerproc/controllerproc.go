// Package controllerproc runs the controller binary for the benchmarks and
// reads its figures: API requests from its aviary_api_requests_total
// counter, CPU time and peak RSS from /proc, and Go profiles.
package controllerproc

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aviary-rollouts/aviary/internal/freeport"
)

// Process is an aviary-controller started by a benchmark, scoped to one
// namespace, with its /metrics (and optionally pprof) on free ports.
type Process struct {
	cmd     *exec.Cmd
	metrics string
	pprof   string
	log     *os.File
	keepLog bool
}

// SaveProfile fetches /debug/pprof/<what> into path, reporting failures on
// stderr: a profile is an aid, not a result.
func (p *Process) SaveProfile(path, what string) {
	resp, err := http.Get("http://" + p.pprof + "/debug/pprof/" + what)
	if err == nil {
		defer resp.Body.Close()
		var f *os.File
		if f, err = os.Create(path); err == nil {
			_, err = io.Copy(f, resp.Body)
			_ = f.Close()
		}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: profile %s: %v\n", what, err)
	}
}

// Options start a controller.
type Options struct {
	Binary, Kubeconfig, Namespace string
	QPS                           float64
	Burst                         int
	LogLevel                      string
	// KeepLog keeps the log file after Stop and prints its path.
	KeepLog bool
	// Pprof serves profiles (SaveProfile).
	Pprof bool
}

// Start runs the controller and waits until it serves /metrics.
func Start(c Options) (*Process, error) {
	metrics, err := freeport.Loopback()
	if err != nil {
		return nil, err
	}
	health, err := freeport.Loopback()
	if err != nil {
		return nil, err
	}
	logf, err := os.CreateTemp("", "aviary-bench-controller-*.log")
	if err != nil {
		return nil, err
	}
	args := []string{"--kubeconfig", c.Kubeconfig, "--leader-elect=false", "--namespaced", "--namespace", c.Namespace,
		"--qps", fmt.Sprint(c.QPS), "--burst", fmt.Sprint(c.Burst), "--metrics-addr", metrics, "--health-addr", health, "--loglevel", c.LogLevel}
	pprofAddr := ""
	if c.Pprof {
		if pprofAddr, err = freeport.Loopback(); err != nil {
			return nil, err
		}
		args = append(args, "--enable-pprof-address", pprofAddr)
	}
	cmd := exec.Command(c.Binary, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s (run make build first): %w", c.Binary, err)
	}
	p := &Process{cmd: cmd, metrics: metrics, log: logf, pprof: pprofAddr, keepLog: c.KeepLog}
	for range 100 {
		if _, err := p.Requests(); err == nil {
			return p, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	p.Stop()
	return nil, fmt.Errorf("controller did not serve /metrics:\n%s", p.Tail())
}

// Stop kills the controller.
func (p *Process) Stop() {
	_ = p.cmd.Process.Kill()
	_ = p.cmd.Wait()
	_ = p.log.Close()
	if p.keepLog {
		fmt.Printf("bench: controller log kept at %s\n", p.log.Name())
		return
	}
	_ = os.Remove(p.log.Name())
}

// Tail is the end of the controller's log, for error reports.
func (p *Process) Tail() string {
	b, _ := os.ReadFile(p.log.Name())
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// Requests scrapes aviary_api_requests_total: "verb resource" → count,
// successful or not.
func (p *Process) Requests() (map[string]float64, error) {
	resp, err := http.Get("http://" + p.metrics + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "aviary_api_requests_total{") {
			continue
		}
		labels := parseLabels(line[strings.Index(line, "{")+1 : strings.LastIndex(line, "}")])
		v, err := strconv.ParseFloat(strings.TrimSpace(line[strings.LastIndex(line, "}")+1:]), 64)
		if err != nil {
			return nil, fmt.Errorf("parse %q: %w", line, err)
		}
		out[labels["verb"]+" "+labels["resource"]] += v
	}
	return out, sc.Err()
}

func parseLabels(s string) map[string]string {
	out := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		k, v, _ := strings.Cut(kv, "=")
		out[k] = strings.Trim(v, `"`)
	}
	return out
}

// CPUSeconds is the process's user+system CPU time from /proc.
func (p *Process) CPUSeconds() (float64, error) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(p.cmd.Process.Pid), "stat"))
	if err != nil {
		return 0, err
	}
	// Fields after the ")" that ends the command name; utime and stime are
	// fields 14 and 15 of the whole line.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	return (utime + stime) / 100, nil // USER_HZ is 100 on Linux
}

// PeakRSS is VmHWM, the process's high-water resident set, in MiB.
func (p *Process) PeakRSS() (float64, error) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(p.cmd.Process.Pid), "status"))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024, err
		}
	}
	return 0, fmt.Errorf("no VmHWM in /proc/%d/status", p.cmd.Process.Pid)
}

// Parallel runs f for 0..n-1 on 32 workers and returns the first error.
func Parallel(n int, f func(int) error) error {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	next := make(chan int)
	for range 32 {
		wg.Go(func() {
			for i := range next {
				if err := f(i); err != nil {
					mu.Lock()
					first = cmpErr(first, err)
					mu.Unlock()
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return first
}

func cmpErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}
