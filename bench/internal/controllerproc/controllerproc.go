// Package controllerproc runs the controller binary for the benchmarks and
// reads its figures: API requests from its own request counter or a
// recording proxy in front of the API server (Proxy), CPU time and
// resident set from /proc, and Go profiles. The controller is Aviary's or,
// for a side-by-side comparison, Argo Rollouts' (Kind).
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

// Kind is which controller a Process runs: their command lines and
// request counters differ, the rest is read the same way.
type Kind int

const (
	// Aviary is bin/aviary-controller.
	Aviary Kind = iota
	// ArgoRollouts is Argo Rollouts' controller, cmd/rollouts-controller
	// (make argo-rollouts builds it).
	ArgoRollouts
)

func (k Kind) String() string {
	if k == ArgoRollouts {
		return "Argo Rollouts"
	}
	return "Aviary"
}

// Process is a controller started by a benchmark, scoped to one
// namespace, with its /metrics (and optionally pprof) on free ports.
type Process struct {
	kind    Kind
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
	// Kind is the controller Binary is; Aviary unless set.
	Kind                          Kind
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
	pprofAddr := ""
	if c.Pprof {
		if pprofAddr, err = freeport.Loopback(); err != nil {
			return nil, err
		}
	}
	logf, err := os.CreateTemp("", "aviary-bench-controller-*.log")
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(c.Binary, c.args(metrics, health, pprofAddr)...)
	if c.Kind == ArgoRollouts {
		// Argo Rollouts looks for its notification ConfigMap and Secret in
		// the namespace the downward API gives it, argo-rollouts when unset:
		// the benchmark's instead, where neither exists.
		cmd.Env = append(os.Environ(), "POD_NAMESPACE="+c.Namespace)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		_ = logf.Close()
		_ = os.Remove(logf.Name())
		return nil, fmt.Errorf("start %s %s (make build, or make argo-rollouts for Argo Rollouts'): %w", c.Kind, c.Binary, err)
	}
	p := &Process{kind: c.Kind, cmd: cmd, metrics: metrics, log: logf, pprof: pprofAddr, keepLog: c.KeepLog}
	// A minute: the benchmark starts the controller while the cluster is
	// busy with its new nodes, and 10 s once proved too short on two cores.
	var lastErr error
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if _, lastErr = p.Requests(); lastErr == nil {
			return p, nil
		}
		if exited(cmd.Process.Pid) {
			break
		}
	}
	// The log's end before Stop removes it.
	tail := p.Tail()
	p.Stop()
	return nil, fmt.Errorf("%s controller did not serve /metrics (%v):\n%s", c.Kind, lastErr, tail)
}

// args is the controller's command line: one namespace, no leader
// election, the client budget, and its endpoints on the addresses given
// (pprof only when not ""). A negative QPS lifts the budget of either:
// Aviary reads it so, and Argo Rollouts hands it to client-go, which then
// makes no token bucket.
func (c Options) args(metrics, health, pprof string) []string {
	args := []string{"--kubeconfig", c.Kubeconfig, "--leader-elect=false", "--namespaced", "--namespace", c.Namespace,
		"--qps", fmt.Sprint(c.QPS), "--burst", fmt.Sprint(c.Burst), "--loglevel", c.LogLevel}
	if c.Kind == ArgoRollouts {
		// Argo Rollouts takes ports and listens on every interface; the
		// benchmark reaches them on loopback.
		args = append(args, "--metricsPort", port(metrics), "--healthzPort", port(health))
	} else {
		args = append(args, "--metrics-addr", metrics, "--health-addr", health)
	}
	if pprof != "" {
		args = append(args, "--enable-pprof-address", pprof)
	}
	return args
}

// port is the port of a host:port address.
func port(addr string) string {
	_, p, _ := strings.Cut(addr, ":")
	return p
}

// Version is the first line the binary prints for --version, which both
// controllers take, or why there is none.
func Version(binary string) string {
	out, err := exec.Command(binary, "--version").Output()
	if err != nil {
		return fmt.Sprintf("version unknown: %v", err)
	}
	first, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return first
}

// exited reports whether the process pid has ended (a zombie until
// waited for).
func exited(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	// The state follows the command name's closing parenthesis.
	_, rest, _ := strings.Cut(string(stat), ") ")
	return strings.HasPrefix(rest, "Z") || strings.HasPrefix(rest, "X")
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

// Requests scrapes the controller's own request counter: "verb resource"
// → count, successful or not. Aviary's is aviary_api_requests_total,
// Argo Rollouts' controller_clientset_k8s_request_total, whose kind label
// is the resource for most requests but not all (a status write is
// labelled by the Rollout's name): the proxy's count is the one compared,
// this one's sum only a check on it.
func (p *Process) Requests() (map[string]float64, error) {
	out := map[string]float64{}
	if p.kind == ArgoRollouts {
		err := p.scrape("controller_clientset_k8s_request_total", func(labels map[string]string, v float64) {
			out[strings.ToLower(labels["verb"])+" "+labels["kind"]] += v
		})
		return out, err
	}
	err := p.scrape("aviary_api_requests_total", func(labels map[string]string, v float64) {
		out[labels["verb"]+" "+labels["resource"]] += v
	})
	return out, err
}

// Metric scrapes the metric name, its series summed: e.g.
// go_gc_heap_live_bytes, the heap the Go runtime found live at the end of
// its last collection.
func (p *Process) Metric(name string) (float64, error) {
	var sum float64
	found := false
	err := p.scrape(name, func(_ map[string]string, v float64) { sum += v; found = true })
	if err == nil && !found {
		err = fmt.Errorf("the controller's /metrics has no %s", name)
	}
	return sum, err
}

// scrapeClient asks for /metrics uncompressed: compressing it is CPU the
// controller would spend for the benchmark alone.
var scrapeClient = &http.Client{Transport: &http.Transport{DisableCompression: true}, Timeout: time.Minute}

// scrape reads /metrics once and calls series for each sample of the
// metric name, with its labels. Each scrape renders every series of the
// controller, some per Rollout, so the benchmarks scrape a few times a
// wave, not continuously (Proxy).
func (p *Process) scrape(name string, series func(labels map[string]string, v float64)) error {
	resp, err := scrapeClient.Get("http://" + p.metrics + "/metrics")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		rest, ok := strings.CutPrefix(line, name)
		if !ok || rest == "" || (rest[0] != '{' && rest[0] != ' ') {
			continue
		}
		labels := map[string]string{}
		if rest[0] == '{' {
			end := strings.LastIndex(rest, "}")
			labels = parseLabels(rest[1:end])
			rest = rest[end+1:]
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
		if err != nil {
			return fmt.Errorf("parse %q: %w", line, err)
		}
		series(labels, v)
	}
	return sc.Err()
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
	return cpuSeconds(strconv.Itoa(p.cmd.Process.Pid))
}

// SelfCPUSeconds is the benchmark's own user+system CPU time: its proxy,
// informers and scrapes share the machine with the controller.
func SelfCPUSeconds() (float64, error) { return cpuSeconds("self") }

// cpuSeconds reads the user+system CPU time of /proc/<pid>.
func cpuSeconds(pid string) (float64, error) {
	b, err := os.ReadFile(filepath.Join("/proc", pid, "stat"))
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

// RSS is VmRSS, the process's resident set now, in MiB.
func (p *Process) RSS() (float64, error) { return p.statusMiB("VmRSS") }

// PeakRSS is VmHWM, the process's high-water resident set since it
// started or since the last ResetPeakRSS, in MiB.
func (p *Process) PeakRSS() (float64, error) { return p.statusMiB("VmHWM") }

// ResetPeakRSS starts PeakRSS again from the current resident set
// (proc(5), clear_refs), returning the peak it ends.
func (p *Process) ResetPeakRSS() (float64, error) {
	peak, err := p.PeakRSS()
	if err != nil {
		return 0, err
	}
	err = os.WriteFile(filepath.Join("/proc", strconv.Itoa(p.cmd.Process.Pid), "clear_refs"), []byte("5"), 0)
	return peak, err
}

// statusMiB reads a kB field of /proc/<pid>/status, in MiB.
func (p *Process) statusMiB(field string) (float64, error) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(p.cmd.Process.Pid), "status"))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024, err
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, p.cmd.Process.Pid)
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
