package framework

import (
	"context"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	watchtools "k8s.io/client-go/tools/watch"
)

// SeedEnv names the environment variable that replays a kill schedule: set
// it to the seed a failed run logged.
const SeedEnv = "AVIARY_E2E_SEED"

// KillSchedule kills a controller with SIGKILL at seeded random moments and
// starts it again. The seed is logged, and taken from SeedEnv when set, so
// that a failure can be replayed with the same schedule.
type KillSchedule struct {
	Seed uint64
	rng  *rand.Rand
}

// NewKillSchedule seeds a schedule from SeedEnv or the clock and logs it.
func NewKillSchedule(t testing.TB) *KillSchedule {
	t.Helper()
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv(SeedEnv); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("%s=%q: want an unsigned integer: %v", SeedEnv, s, err)
		}
		seed = v
	}
	t.Logf("kill schedule seed %d (replay with %s=%d)", seed, SeedEnv, seed)
	return &KillSchedule{Seed: seed, rng: rand.New(rand.NewPCG(seed, 0))}
}

// IntN is the schedule's next random number in [0, n), for a test that
// makes other seeded choices.
func (k *KillSchedule) IntN(n int) int { return k.rng.IntN(n) }

// Until kills ctl at random moments 0.2–2 s apart and restarts it with
// start, up to kills times, then lets the last controller run; between
// moments it calls observe (which may act on the cluster, e.g. promote)
// and stops once settled holds. It fails the test if settled does not hold
// within timeout, and returns the controller left running.
func (k *KillSchedule) Until(t testing.TB, ctl *Controller, start func() *Controller, kills int, timeout time.Duration,
	observe func(), settled func() (bool, string)) *Controller {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for n := 0; ; n++ {
		observe()
		ok, why := settled()
		if ok {
			t.Logf("settled after %d kills", min(n, kills))
			return ctl
		}
		if time.Now().After(deadline) {
			t.Fatalf("not settled after %s and %d kills: %s", timeout, min(n, kills), why)
		}
		if n < kills {
			time.Sleep(time.Duration(200+k.rng.IntN(1800)) * time.Millisecond)
			ctl.Kill()
			time.Sleep(time.Duration(k.rng.IntN(500)) * time.Millisecond)
			ctl = start()
		} else {
			time.Sleep(time.Second) // let the last controller finish
		}
	}
}

// Created records every version of every object of the watched resources
// in a namespace from the moment it is started: what was ever created
// (by UID), even if it was deleted again before the test looked.
type Created struct {
	mu       sync.Mutex
	versions map[schema.GroupVersionResource]map[types.UID][]unstructured.Unstructured
}

// RecordCreated starts watching the resources in ns until the test ends.
func RecordCreated(t testing.TB, ns string, gvrs ...schema.GroupVersionResource) *Created {
	t.Helper()
	c := &Created{versions: map[schema.GroupVersionResource]map[types.UID][]unstructured.Unstructured{}}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	for _, gvr := range gvrs {
		res := Get(t).Dynamic.Resource(gvr).Namespace(ns)
		list, err := res.List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatalf("list %s in %s: %v", gvr.Resource, ns, err)
		}
		c.versions[gvr] = map[types.UID][]unstructured.Unstructured{}
		for _, o := range list.Items {
			c.add(gvr, o)
		}
		w, err := watchtools.NewRetryWatcherWithContext(ctx, list.GetResourceVersion(), watcherFunc(func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
			opts.AllowWatchBookmarks = true
			return res.Watch(ctx, opts)
		}))
		if err != nil {
			t.Fatalf("watch %s in %s: %v", gvr.Resource, ns, err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer w.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case ev, ok := <-w.ResultChan():
					if !ok {
						return
					}
					if o, isObj := ev.Object.(*unstructured.Unstructured); isObj && (ev.Type == watch.Added || ev.Type == watch.Modified) {
						c.add(gvr, *o)
					}
				}
			}
		}()
	}
	return c
}

func (c *Created) add(gvr schema.GroupVersionResource, o unstructured.Unstructured) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.versions[gvr][o.GetUID()] = append(c.versions[gvr][o.GetUID()], o)
}

// Objects are the objects of gvr ever seen, each as first seen.
func (c *Created) Objects(gvr schema.GroupVersionResource) []unstructured.Unstructured {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []unstructured.Unstructured
	for _, vs := range c.versions[gvr] {
		out = append(out, vs[0])
	}
	return out
}

// Versions are every version of gvr's objects seen.
func (c *Created) Versions(gvr schema.GroupVersionResource) []unstructured.Unstructured {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []unstructured.Unstructured
	for _, vs := range c.versions[gvr] {
		out = append(out, vs...)
	}
	return out
}

type watcherFunc func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error)

func (f watcherFunc) WatchWithContext(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
	return f(ctx, opts)
}
