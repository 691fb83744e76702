package clientbudget

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	testingclock "k8s.io/utils/clock/testing"
)

// fixture drives a Budget on a fake clock: requests started with start
// queue up, step moves the clock, and each grant is reported on done.
type fixture struct {
	t    *testing.T
	b    *Budget
	clk  *testingclock.FakeClock
	done chan string
}

func newFixture(t *testing.T, qps float64, burst int) *fixture {
	clk := testingclock.NewFakeClock(time.Unix(1_000_000, 0))
	return &fixture{t: t, b: New(qps, burst, clk), clk: clk, done: make(chan string, 1000)}
}

// start sends a request named name of priority p and waits until it either
// holds a token or is queued.
func (f *fixture) start(ctx context.Context, name string, p Priority) <-chan error {
	f.t.Helper()
	before := f.queued()
	res := make(chan error, 1)
	go func() {
		err := f.b.Wait(ctx, p)
		res <- err
		if err == nil {
			f.done <- name
		}
	}()
	f.waitFor(func() bool { return f.queued() > before || len(res) > 0 }, "request "+name+" to be granted or queued")
	f.settle()
	return res
}

func (f *fixture) queued() int {
	f.b.mu.Lock()
	defer f.b.mu.Unlock()
	return f.b.waiting()
}

// settle waits until nothing more can happen without the clock moving: no
// request waits, or the next one's timer is armed.
func (f *fixture) settle() {
	f.t.Helper()
	f.waitFor(func() bool { return f.queued() == 0 || f.clk.HasWaiters() }, "the budget to settle")
}

func (f *fixture) waitFor(cond func() bool, what string) {
	f.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			f.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Microsecond)
	}
}

// step moves the clock by d and returns the requests granted, in order.
func (f *fixture) step(d time.Duration) []string {
	f.t.Helper()
	before := f.queued()
	f.clk.Step(d)
	f.settle()
	n := before - f.queued()
	got := make([]string, 0, n)
	for range n {
		select {
		case name := <-f.done:
			got = append(got, name)
		case <-time.After(5 * time.Second):
			f.t.Fatalf("a granted request did not return")
		}
	}
	return got
}

func (f *fixture) drain() []string {
	var got []string
	for {
		select {
		case name := <-f.done:
			got = append(got, name)
		default:
			return got
		}
	}
}

func TestBurstIsGrantedAtOnceThenTheRate(t *testing.T) {
	f := newFixture(t, 5, 5)
	for i := range 5 {
		if err := <-f.start(context.Background(), fmt.Sprint("burst", i), Work); err != nil {
			t.Fatal(err)
		}
	}
	f.drain()
	f.start(context.Background(), "sixth", Work)
	if got := f.queued(); got != 1 {
		t.Fatalf("after a burst of 5 the sixth request should wait; %d waiting", got)
	}
	if got := f.step(199 * time.Millisecond); len(got) != 0 {
		t.Fatalf("granted %v before a token (1/5 s) accrued", got)
	}
	if got := f.step(time.Millisecond); !slices.Equal(got, []string{"sixth"}) {
		t.Fatalf("at 200 ms granted %v, want [sixth]", got)
	}
}

// Over any window of length T, at most burst + qps·T requests are granted,
// and a steady backlog gets exactly the rate.
func TestRateBoundOverAnyWindow(t *testing.T) {
	const qps, burst = 5.0, 5
	f := newFixture(t, qps, burst)
	start := f.clk.Now()
	type grant struct{ at time.Duration }
	var grants []grant
	for i := range 40 {
		f.start(context.Background(), fmt.Sprint("r", i), Priority(i%3))
	}
	for _, name := range f.drain() {
		_ = name
		grants = append(grants, grant{0})
	}
	for f.queued() > 0 {
		for range f.step(10 * time.Millisecond) {
			grants = append(grants, grant{f.clk.Since(start)})
		}
		if f.clk.Since(start) > time.Minute {
			t.Fatal("the backlog did not drain")
		}
	}
	if len(grants) != 40 {
		t.Fatalf("granted %d of 40", len(grants))
	}
	// Idle for 10 s: the bucket refills to burst, not beyond.
	f.step(10 * time.Second)
	for i := range 20 {
		f.start(context.Background(), fmt.Sprint("s", i), Priority(i%3))
	}
	for range f.drain() {
		grants = append(grants, grant{f.clk.Since(start)})
	}
	for f.queued() > 0 {
		for range f.step(10 * time.Millisecond) {
			grants = append(grants, grant{f.clk.Since(start)})
		}
	}
	for _, T := range []time.Duration{0, 100 * time.Millisecond, time.Second, 2 * time.Second, 3500 * time.Millisecond} {
		limit := burst + int(qps*T.Seconds()+1e-9)
		for i, g := range grants {
			n := 0
			for _, h := range grants[i:] {
				if h.at-g.at <= T {
					n++
				}
			}
			if n > limit {
				t.Errorf("%d grants in the %s from %s; the bound is %d", n, T, g.at, limit)
			}
		}
	}
	// 35 requests after the burst at 5/s: the 40th at 7 s, not later; after
	// the pause, 5 at once and 15 more at 5/s, the last 3 s after the pause.
	if at := grants[39].at; at != 7*time.Second {
		t.Errorf("the 40th request was granted at %s, want 7s (burst 5, then 5/s)", at)
	}
	if at := grants[len(grants)-1].at; at != 20*time.Second {
		t.Errorf("the last request was granted at %s, want 20s", at)
	}
}

func TestPriorityOrderUnderContention(t *testing.T) {
	f := newFixture(t, 1, 1)
	f.start(context.Background(), "first", Work)
	f.drain()
	// Queued lowest priority first, so arrival order alone would be wrong.
	for _, r := range []struct {
		name string
		p    Priority
	}{{"event1", Event}, {"event2", Event}, {"work1", Work}, {"work2", Work}, {"work3", Work}, {"lease", LeaderElection}} {
		f.start(context.Background(), r.name, r.p)
	}
	var order []string
	for f.queued() > 0 {
		order = append(order, f.step(time.Second)...)
	}
	want := []string{"lease", "work1", "work2", "work3", "event1", "event2"}
	if !slices.Equal(order, want) {
		t.Fatalf("granted in order %v, want %v", order, want)
	}
}

// Under a sustained backlog of Work, a waiting Event is served after
// EventShare grants, so the recorder's queue keeps draining.
func TestEventsKeepAShareUnderABacklog(t *testing.T) {
	f := newFixture(t, 1, 1)
	f.start(context.Background(), "first", Work)
	f.drain()
	f.start(context.Background(), "event1", Event)
	f.start(context.Background(), "event2", Event)
	for i := range 10 {
		f.start(context.Background(), fmt.Sprint("work", i), Work)
	}
	var order []string
	for f.queued() > 0 {
		order = append(order, f.step(time.Second)...)
	}
	want := []string{"work0", "work1", "work2", "work3", "event1", "work4", "work5", "work6", "work7", "event2", "work8", "work9"}
	if !slices.Equal(order, want) {
		t.Fatalf("granted in order %v, want %v", order, want)
	}
}

// With nothing else waiting, an Event is served as soon as a token is there.
func TestEventsAreNotHeldBackWhenWorkIsIdle(t *testing.T) {
	f := newFixture(t, 2, 2)
	if err := <-f.start(context.Background(), "event", Event); err != nil {
		t.Fatal(err)
	}
	f.start(context.Background(), "work", Work)
	f.drain()
	f.start(context.Background(), "late event", Event)
	if got := f.step(500 * time.Millisecond); !slices.Equal(got, []string{"late event"}) {
		t.Fatalf("granted %v, want the event once its token accrued", got)
	}
}

func TestCancelledWaitTakesNoToken(t *testing.T) {
	f := newFixture(t, 1, 1)
	f.start(context.Background(), "first", Work)
	f.drain()
	ctx, cancel := context.WithCancel(context.Background())
	// The cancelled request is next in line and keeps time for the token.
	cancelled := f.start(ctx, "cancelled", LeaderElection)
	f.start(context.Background(), "event", Event)
	cancel()
	if err := <-cancelled; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled wait returned %v, want context.Canceled", err)
	}
	f.settle()
	if got := f.step(time.Second); !slices.Equal(got, []string{"event"}) {
		t.Fatalf("granted %v, want the token the cancelled request did not take to go to the event", got)
	}
}

func TestNilBudgetDoesNotLimit(t *testing.T) {
	var b *Budget
	for range 1000 {
		if err := b.Wait(context.Background(), Work); err != nil {
			t.Fatal(err)
		}
	}
}

func TestOf(t *testing.T) {
	for _, c := range []struct {
		method, url string
		want        Priority
	}{
		{"PUT", "/apis/coordination.k8s.io/v1/namespaces/aviary/leases/aviary-controller-lock", LeaderElection},
		{"GET", "/apis/coordination.k8s.io/v1/namespaces/aviary/leases/aviary-controller-lock", LeaderElection},
		{"POST", "/api/v1/namespaces/a/events", Event},
		{"PATCH", "/api/v1/namespaces/a/events/web.1", Event},
		{"POST", "/apis/events.k8s.io/v1/namespaces/a/events", Event},
		{"GET", "/api/v1/namespaces/a/events", Work},
		{"PATCH", "/apis/argoproj.io/v1alpha1/namespaces/a/rollouts/web/status", Work},
		{"GET", "/apis/argoproj.io/v1alpha1/rollouts?watch=true", Work},
		{"GET", "/apis", Work},
	} {
		req := httptest.NewRequest(c.method, c.url, nil)
		if got := Of(req); got != c.want {
			t.Errorf("%s %s is %s, want %s", c.method, c.url, got, c.want)
		}
	}
	// The journal's decision events go with the work they record.
	req := httptest.NewRequest("POST", "/api/v1/namespaces/a/events", nil)
	if got := Of(req.WithContext(WithPriority(req.Context(), Work))); got != Work {
		t.Errorf("an event marked Work is %s", got)
	}
}
