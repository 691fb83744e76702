// Command scale is the scale benchmark of the Rollout controller (make
// bench-scale): on the local cluster it creates N canary Rollouts of 3
// replicas, waits until all are Healthy, changes every image at once and
// times the wave until all are Healthy on the new revision. It reports wall
// time, the controller's API requests by verb and resource (from its
// aviary_api_requests_total counter), its CPU seconds and peak RSS, and the
// writes per rollout against the design minimum.
//
// It is a benchmark, not a test: it prints figures and never fails on them.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/bench/internal/controllerproc"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench/scale:", err)
		os.Exit(1)
	}
}

type config struct {
	n          int
	qps        float64
	burst      int
	kubeconfig string
	controller string
	keep       bool
	timeout    time.Duration
	logLevel   string
	keepLog    bool
	profileDir string
}

func run() error {
	var c config
	// A FlagSet of its own: controller-runtime registers -kubeconfig on the
	// global one.
	fs := flag.NewFlagSet("bench/scale", flag.ExitOnError)
	fs.IntVar(&c.n, "n", 200, "number of Rollouts")
	fs.Float64Var(&c.qps, "qps", 40, "controller --qps")
	fs.IntVar(&c.burst, "burst", 80, "controller --burst")
	fs.StringVar(&c.kubeconfig, "kubeconfig", ".local/kubeconfig", "kubeconfig of the local cluster (make cluster-up)")
	fs.StringVar(&c.controller, "controller", "bin/aviary-controller", "controller binary (make build)")
	fs.BoolVar(&c.keep, "keep", false, "keep the namespace afterwards")
	fs.DurationVar(&c.timeout, "timeout", 20*time.Minute, "give up on a phase after this long")
	fs.StringVar(&c.logLevel, "loglevel", "warn", "controller --loglevel")
	fs.BoolVar(&c.keepLog, "keep-log", false, "keep the controller's log file and print its path")
	fs.StringVar(&c.profileDir, "profile", "", "write the controller's CPU profile of the wave and a heap profile at its end into this directory")
	_ = fs.Parse(os.Args[1:])

	cl, err := controllerproc.Connect(c.kubeconfig)
	if err != nil {
		return err
	}
	ctx := context.Background()
	added, err := ensureNodes(ctx, cl, (c.n*4+109)/110+1)
	if !c.keep {
		// Other tests on this cluster expect its usual three nodes.
		defer func() {
			for _, name := range added {
				_ = cl.Delete(context.Background(), &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}})
			}
		}()
	}
	if err != nil {
		return err
	}
	ns, cleanup, err := controllerproc.TempNamespace(ctx, cl, "bench-scale")
	if err != nil {
		return err
	}
	if !c.keep {
		defer cleanup()
	}
	fmt.Printf("bench/scale: N=%d rollouts in namespace %s, controller --qps %g --burst %d\n", c.n, ns, c.qps, c.burst)

	ctl, err := controllerproc.Start(controllerproc.Options{Binary: c.controller, Kubeconfig: c.kubeconfig, Namespace: ns,
		QPS: c.qps, Burst: c.burst, LogLevel: c.logLevel, KeepLog: c.keepLog, Pprof: c.profileDir != ""})
	if err != nil {
		return err
	}
	defer ctl.Stop()

	start := time.Now()
	if err := createRollouts(ctx, cl, ns, c.n); err != nil {
		return err
	}
	if err := waitAll(ctx, cl, ns, c.n, "blue", c.timeout); err != nil {
		return fmt.Errorf("first versions: %w\n%s", err, ctl.Tail())
	}
	fmt.Printf("bench/scale: %d rollouts Healthy on the first version after %s\n", c.n, time.Since(start).Round(100*time.Millisecond))

	before, err := ctl.Requests()
	if err != nil {
		return err
	}
	cpuBefore, err := ctl.CPUSeconds()
	if err != nil {
		return err
	}
	var profiled sync.WaitGroup
	if c.profileDir != "" {
		profiled.Go(func() { ctl.SaveProfile(filepath.Join(c.profileDir, "cpu.pprof"), "profile?seconds=60") })
	}
	start = time.Now()
	if err := setImages(ctx, cl, ns, c.n, "green"); err != nil {
		return err
	}
	if err := waitAll(ctx, cl, ns, c.n, "green", c.timeout); err != nil {
		return fmt.Errorf("update wave: %w\n%s", err, ctl.Tail())
	}
	wall := time.Since(start)
	after, err := ctl.Requests()
	if err != nil {
		return err
	}
	cpuAfter, err := ctl.CPUSeconds()
	if err != nil {
		return err
	}
	rss, err := ctl.PeakRSS()
	if err != nil {
		return err
	}
	if c.profileDir != "" {
		ctl.SaveProfile(filepath.Join(c.profileDir, "heap.pprof"), "heap")
		profiled.Wait()
	}
	report(os.Stdout, c, wall, cpuAfter-cpuBefore, cpuAfter, rss, diff(after, before))
	return nil
}

// rollout is one benchmark Rollout: 3 replicas, a basic canary with two
// one-second pauses.
func rollout(ns string, i int) *v1alpha1.Rollout {
	name := fmt.Sprintf("app-%04d", i)
	labels := map[string]string{"app": name}
	return &v1alpha1.Rollout{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: v1alpha1.RolloutSpec{
			Replicas: new(int32(3)),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "app", Image: "argoproj/rollouts-demo:blue",
				}}},
			},
			Strategy: v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{Steps: []v1alpha1.CanaryStep{
				{SetWeight: new(int32(34))},
				{Pause: &v1alpha1.RolloutPause{Duration: new(intstr.FromInt32(1))}},
				{SetWeight: new(int32(67))},
				{Pause: &v1alpha1.RolloutPause{Duration: new(intstr.FromInt32(1))}},
			}}},
		},
	}
}

func createRollouts(ctx context.Context, cl client.Client, ns string, n int) error {
	return controllerproc.Parallel(n, func(i int) error {
		if err := cl.Create(ctx, rollout(ns, i)); err != nil {
			return fmt.Errorf("create rollout %d: %w", i, err)
		}
		return nil
	})
}

func setImages(ctx context.Context, cl client.Client, ns string, n int, color string) error {
	patch := fmt.Appendf(nil, `{"spec":{"template":{"spec":{"containers":[{"name":"app","image":"argoproj/rollouts-demo:%s"}]}}}}`, color)
	return controllerproc.Parallel(n, func(i int) error {
		ro := &v1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("app-%04d", i)}}
		if err := cl.Patch(ctx, ro, client.RawPatch("application/merge-patch+json", patch)); err != nil {
			return fmt.Errorf("set image of %s: %w", ro.Name, err)
		}
		return nil
	})
}

// waitAll polls until every Rollout is Healthy with all 3 replicas
// available on the given image, as stable.
func waitAll(ctx context.Context, cl client.Client, ns string, n int, color string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	want := "argoproj/rollouts-demo:" + color
	for {
		var list v1alpha1.RolloutList
		if err := cl.List(ctx, &list, client.InNamespace(ns)); err != nil {
			return err
		}
		done := 0
		phases := map[v1alpha1.RolloutPhase]int{}
		for i := range list.Items {
			ro := &list.Items[i]
			phases[ro.Status.Phase]++
			gen := strconv.FormatInt(ro.Generation, 10)
			if ro.Status.ObservedGeneration == gen && ro.Status.Phase == v1alpha1.RolloutPhaseHealthy &&
				ro.Spec.Template.Spec.Containers[0].Image == want && ro.Status.StableRS == ro.Status.CurrentPodHash &&
				ro.Status.AvailableReplicas == 3 && ro.Status.UpdatedReplicas == 3 && ro.Status.Replicas == 3 {
				done++
			}
		}
		if done == n {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d rollouts done after %s (phases %v)", done, n, timeout, phases)
		}
		// Listing every Rollout is itself load on the API server the
		// controller shares: poll less often at large N.
		time.Sleep(max(250*time.Millisecond, time.Duration(n)*time.Millisecond))
	}
}

// ensureNodes makes sure the cluster has at least n kwok nodes, copying an
// existing one (kwok manages every node annotated kwok.x-k8s.io/node=fake).
func ensureNodes(ctx context.Context, cl client.Client, n int) ([]string, error) {
	var nodes corev1.NodeList
	if err := cl.List(ctx, &nodes); err != nil {
		return nil, fmt.Errorf("list nodes: %w", err)
	}
	if len(nodes.Items) == 0 {
		return nil, fmt.Errorf("the cluster has no nodes; run make cluster-up")
	}
	var added []string
	proto := nodes.Items[0]
	for i := len(nodes.Items); i < n; i++ {
		node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{
			Name:        fmt.Sprintf("bench-node-%03d", i),
			Labels:      proto.Labels,
			Annotations: map[string]string{"kwok.x-k8s.io/node": "fake"},
		}, Spec: corev1.NodeSpec{Taints: proto.Spec.Taints}}
		node.Labels = map[string]string{}
		for k, v := range proto.Labels {
			node.Labels[k] = v
		}
		node.Labels[corev1.LabelHostname] = node.Name
		if err := cl.Create(ctx, node); err != nil {
			return added, fmt.Errorf("create node %s: %w", node.Name, err)
		}
		added = append(added, node.Name)
		orig := node.DeepCopy()
		node.Status = corev1.NodeStatus{Capacity: proto.Status.Capacity, Allocatable: proto.Status.Allocatable}
		if err := cl.Status().Patch(ctx, node, client.MergeFrom(orig)); err != nil {
			return added, fmt.Errorf("set capacity of node %s: %w", node.Name, err)
		}
	}
	// kwok marks new nodes Ready on its next pass.
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if err := cl.List(ctx, &nodes); err != nil {
			return added, err
		}
		ready := 0
		for _, node := range nodes.Items {
			for _, cond := range node.Status.Conditions {
				if cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue {
					ready++
				}
			}
		}
		if ready >= n {
			return added, nil
		}
		if time.Now().After(deadline) {
			return added, fmt.Errorf("only %d of %d nodes Ready", ready, n)
		}
		time.Sleep(time.Second)
	}
}

func diff(after, before map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for k, v := range after {
		if d := v - before[k]; d > 0 {
			out[k] = d
		}
	}
	return out
}

// minWritesPerRollout is the fewest writes the update wave of one benchmark
// Rollout needs; see bench/README.md for the derivation.
const minWritesPerRollout = 13

func report(w io.Writer, c config, wall time.Duration, cpuWave, cpuTotal, rss float64, req map[string]float64) {
	keys := make([]string, 0, len(req))
	for k := range req {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var writes, events, total float64
	fmt.Fprintf(w, "\nAPI requests by the controller during the update wave (verb resource: count, per rollout):\n")
	for _, k := range keys {
		total += req[k]
		verb, resource, _ := strings.Cut(k, " ")
		isWrite := verb == "create" || verb == "update" || verb == "patch" || verb == "delete"
		switch {
		case isWrite && resource == "events":
			events += req[k]
		case isWrite && resource != "leases":
			writes += req[k]
		}
		fmt.Fprintf(w, "  %-34s %8.0f  %6.2f\n", k, req[k], req[k]/float64(c.n))
	}
	perRollout := writes / float64(c.n)
	fmt.Fprintf(w, "\nN=%d  qps=%g burst=%d\n", c.n, c.qps, c.burst)
	fmt.Fprintf(w, "  wall time of the update wave   %8.1f s\n", wall.Seconds())
	fmt.Fprintf(w, "  controller CPU, update wave    %8.1f s  (whole run %.1f s)\n", cpuWave, cpuTotal)
	fmt.Fprintf(w, "  controller peak RSS            %8.1f MiB\n", rss)
	fmt.Fprintf(w, "  API requests, update wave      %8.0f  (%.1f per rollout)\n", total, total/float64(c.n))
	fmt.Fprintf(w, "  object writes per rollout      %8.2f  (minimum %d, ratio %.2f)\n", perRollout, minWritesPerRollout, perRollout/minWritesPerRollout)
	fmt.Fprintf(w, "  event writes per rollout       %8.2f\n", events/float64(c.n))
	if c.n == 200 {
		fmt.Fprintf(w, "  vs Argo Rollouts at N=200 (232.7 s, 19.6 s CPU, 117 MiB): wall %.2fx, CPU %.2fx, RSS %.2fx\n",
			wall.Seconds()/232.7, cpuWave/19.6, rss/117)
	}
}
