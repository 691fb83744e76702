package dashboard

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

const (
	// scaleRollouts is how many Rollouts the namespace holds.
	scaleRollouts = 3000
	// scaleWorkers bounds the requests in flight while filling it.
	scaleWorkers = 32
	// scaleChanged is how many rollouts change in each update.
	scaleChanged = 5
	// scaleRounds is how many updates are measured in each layout.
	scaleRounds = 3
	// firstRenderBound is how long after the page is opened all rows may
	// take to appear: the dashboard's first listing of the namespace
	// (3,000 Rollouts read from the API server into its cache), the
	// snapshot (1.4 MB) and the browser building and laying out every
	// card, on 2 cores shared with other work. Measured at 1-6 s there, so
	// this is a ceiling for a page or server gone badly wrong; the
	// figures themselves are logged.
	firstRenderBound = 30 * time.Second
	// updateBound is how long after the status patches the page may show
	// them: the server waits 100 ms for a burst to settle, and the rest is
	// the watch, one delta and its rows. Generous for a loaded machine.
	updateBound = 5 * time.Second
)

// scaleInstance keeps every controller away from the test's Rollouts: a
// controller reconciles only those labelled with its --instance-id (or,
// without one, the unlabelled), and none runs with this one. Tests in
// other packages start controllers that watch every namespace.
const scaleInstance = "e2e-dashboard-scale-no-controller"

// scaleRollout is the i-th Rollout: a canary with two pauses, as a
// busy namespace holds them. Nothing reconciles it; its status is
// patched.
func scaleRollout(ns string, i int) *v1alpha1.Rollout {
	name := fmt.Sprintf("app-%04d", i)
	labels := map[string]string{"app": name}
	ro := &v1alpha1.Rollout{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{v1alpha1.LabelControllerInstanceID: scaleInstance}},
		Spec: v1alpha1.RolloutSpec{
			Replicas: ptr.To(int32(3)),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "argoproj/rollouts-demo:blue"}}},
			},
			Strategy: v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{Steps: []v1alpha1.CanaryStep{
				{SetWeight: ptr.To(int32(34))}, {Pause: &v1alpha1.RolloutPause{}}, {SetWeight: ptr.To(int32(67))}, {Pause: &v1alpha1.RolloutPause{}},
			}}},
		},
	}
	ro.Spec.Paused = i%3 == scalePaused
	return ro
}

// The Rollouts take three phases in turn, and the page's filters must
// count them: Healthy (by a status patch, as the controller would write
// it), Paused (spec.paused, which also needs attention) and Progressing
// (no status yet). Only a third get a status patch, to keep the filling
// quick.
const (
	healthyStatus = `{"status":{"phase":"Healthy","observedGeneration":"1","currentStepIndex":4,"replicas":3,"updatedReplicas":3,"readyReplicas":3,"availableReplicas":3}}`
	scaleHealthy  = 0
	scalePaused   = 1
)

// fillNamespace creates n Rollouts in ns and makes a third Healthy, with
// a bounded pool of concurrent requests and no client-side rate limit.
func fillNamespace(t *testing.T, ns string, n int) {
	t.Helper()
	cfg := rest.CopyConfig(framework.Get(t).Config)
	cfg.QPS = -1 // no client-side limit: the pool bounds the load
	c, err := client.New(cfg, client.Options{Scheme: framework.Get(t).Client.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	each := func(what string, which func(i int) bool, do func(i int) error) {
		start := time.Now()
		g := errgroup.Group{}
		g.SetLimit(scaleWorkers)
		sent := 0
		for i := range n {
			if which(i) {
				sent++
				g.Go(func() error { return do(i) })
			}
		}
		if err := g.Wait(); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		t.Logf("%s %d rollouts in %s", what, sent, time.Since(start).Round(time.Millisecond))
	}
	each("created", func(int) bool { return true }, func(i int) error {
		if err := c.Create(ctx, scaleRollout(ns, i)); err != nil {
			return fmt.Errorf("create rollout %d: %w", i, err)
		}
		return nil
	})
	each("made Healthy", func(i int) bool { return i%3 == scaleHealthy }, func(i int) error {
		ro := &v1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: scaleRollout(ns, i).Name}}
		if err := c.Status().Patch(ctx, ro, client.RawPatch(types.MergePatchType, []byte(healthyStatus))); err != nil {
			return fmt.Errorf("patch status of %s: %w", ro.Name, err)
		}
		return nil
	})
}

// sseMessage is an event of the page's list stream as the browser got it.
type sseMessage struct {
	at    time.Time
	event string
	bytes int
}

// sseLog records the Server-Sent Events the page receives.
type sseLog struct {
	mu   sync.Mutex
	msgs []sseMessage
}

func (l *sseLog) since(t time.Time) []sseMessage {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []sseMessage
	for _, m := range l.msgs {
		if !m.at.Before(t) {
			out = append(out, m)
		}
	}
	return out
}

// scaleProbe is installed in the page before its scripts run. It records
// when every row of the list first stands laid out (window.__firstRender,
// ms since the navigation), and the page's own measures of drawing the
// list (aviary:list-render) and applying an update (aviary:list-apply).
const scaleProbe = `(() => {
	window.__measures = [];
	new PerformanceObserver((l) => {
		for (const e of l.getEntries()) {
			if (e.name.startsWith('aviary:list-')) window.__measures.push({ name: e.name, ms: e.duration, rows: e.detail?.rows ?? 0 });
		}
	}).observe({ type: 'measure' });
	const want = %d;
	const tick = () => {
		if (document.querySelectorAll('[data-testid=rollout-card], [data-testid=rollout-row]').length >= want) {
			document.body.getBoundingClientRect(); // the layout of the rows, done now
			window.__firstRender = performance.now();
			return;
		}
		requestAnimationFrame(tick);
	};
	requestAnimationFrame(tick);
})()`

// watchRound starts watching the page for the update of names to status:
// window.__round gets the wall-clock time (ms since the epoch) at which
// all of them show it and how long laying the page out took right then.
func watchRound(item string, names []string, status string) string {
	return fmt.Sprintf(`(() => {
		const sels = %s.map((n) => '[data-testid=%s][data-name="' + n + '"] [data-field=status] .badge-text');
		window.__round = null;
		const done = () => sels.every((s) => document.querySelector(s)?.textContent === %s);
		const mo = new MutationObserver(() => {
			if (!done()) return;
			mo.disconnect();
			const t = performance.now();
			document.body.getBoundingClientRect();
			window.__round = { at: performance.timeOrigin + t, layoutMs: performance.now() - t };
		});
		mo.observe(document.body, { childList: true, subtree: true, characterData: true });
		return true;
	})()`, mustJSON(names), item, js(status))
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// roundSeen is window.__round.
type roundSeen struct {
	At       float64 `json:"at"`
	LayoutMs float64 `json:"layoutMs"`
}

// measure is one of the page's User Timing measures.
type measure struct {
	Name string  `json:"name"`
	Ms   float64 `json:"ms"`
	Rows int     `json:"rows"`
}

// TestDashboardAtScale opens the list of a namespace with 3,000 Rollouts
// and changes a few of them at a time. It measures how long the page
// takes to show every row, how long the browser spends on an update, and
// how many bytes the stream sends for it: an update must cost the rows it
// changes, not the list. It is not parallel, so the package's other tests
// wait while it measures.
func TestDashboardAtScale(t *testing.T) {
	ns := framework.Namespace(t)
	fillNamespace(t, ns, scaleRollouts)
	d := startDashboard(t, ns, "0")
	b := newBrowser(t)

	var stream sseLog
	go collect(b, chromedp.Events(b.ctx, network.EventSourceMessageReceived), func(ev network.EventEventSourceMessageReceived) {
		stream.mu.Lock()
		defer stream.mu.Unlock()
		stream.msgs = append(stream.msgs, sseMessage{at: time.Now(), event: ev.EventName, bytes: len(ev.Data)})
	})
	probe, cancel := context.WithTimeout(b.ctx, actionTimeout)
	_, err := chromedp.Call(probe, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: fmt.Sprintf(scaleProbe, scaleRollouts)})
	cancel()
	if err != nil {
		t.Fatalf("install the probe in the page: %v", err)
	}

	// (a) The first render: the page opened on a dashboard that has not
	// read the namespace yet, then again with its cache warm.
	firstRender := func(what string) (total time.Duration, render measure) {
		t.Helper()
		opened := time.Now()
		b.do("open the list", chromedp.Navigate(d.URL+"/"))
		b.waitFor(firstRenderBound, fmt.Sprintf("all %d rollouts on the page (%s)", scaleRollouts, what), func() (bool, string) {
			ms, err := eval[*float64](b, `window.__firstRender ?? null`)
			if err == nil && ms != nil {
				total = time.Duration(*ms * float64(time.Millisecond))
				return true, ""
			}
			return false, fmt.Sprintf("%d rows so far (%v)", b.count("[data-testid=rollout-card], [data-testid=rollout-row]"), err)
		})
		if time.Since(opened) > firstRenderBound {
			t.Errorf("%s: all rows stood %s after the page was opened, want within %s", what, time.Since(opened).Round(time.Millisecond), firstRenderBound)
		}
		for _, m := range must[[]measure](b, `window.__measures`) {
			if m.Name == "aviary:list-render" && m.Rows == scaleRollouts {
				render = m
			}
		}
		if render.Rows != scaleRollouts {
			t.Fatalf("%s: the page measured no render of %d rows: %+v", what, scaleRollouts, must[[]measure](b, `window.__measures`))
		}
		return total, render
	}
	cold, coldRender := firstRender("cold")
	var snapshot int
	framework.Eventually(t, pageTimeout, "the browser to report the snapshot event", func() (bool, string) {
		got := stream.since(time.Time{})
		if len(got) == 1 && got[0].event == "message" {
			snapshot = got[0].bytes
		}
		return snapshot > 0, fmt.Sprintf("events %+v, want one snapshot (a message event) before any change", got)
	})
	warm, warmRender := firstRender("warm")
	t.Logf("first render of %d cards: %s after opening the page (cold: the dashboard lists the namespace first), %s warm; building them took %.0f ms and %.0f ms; snapshot %d bytes (%d per row)",
		scaleRollouts, cold.Round(time.Millisecond), warm.Round(time.Millisecond), coldRender.Ms, warmRender.Ms, snapshot, snapshot/scaleRollouts)
	for f, want := range map[string]int{"Healthy": scaleRollouts / 3, "Paused": scaleRollouts / 3, "Progressing": scaleRollouts / 3, "attention": scaleRollouts / 3} {
		if got := b.text(fmt.Sprintf("button[data-filter=%s] [data-count]", f)); got != fmt.Sprint(want) {
			t.Errorf("the %s filter counts %s, want %d", f, got, want)
		}
	}

	// (b) Updates: a few rollouts change at once; the page must show them
	// soon, the stream must send only them, and the browser must spend on
	// them a small part of what the whole list costs.
	c := framework.Get(t).Client
	round := 0
	// costs are each update's time in the browser (applying the delta and
	// laying the page out), by layout.
	costs := map[string][]float64{}
	update := func(item string) {
		t.Helper()
		round++
		names := make([]string, scaleChanged)
		for i := range names {
			// Spread over the list, a different set each round.
			names[i] = scaleRollout(ns, (i*scaleRollouts/scaleChanged+round*7)%scaleRollouts).Name
		}
		must[bool](b, watchRound(item, names, "Degraded"))
		before := len(must[[]measure](b, `window.__measures`))
		start := time.Now()
		g := errgroup.Group{}
		for _, name := range names {
			g.Go(func() error {
				patch := fmt.Sprintf(`{"status":{"phase":"Degraded","message":"round %d: aborted by the e2e test"}}`, round)
				ro := &v1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
				return c.Status().Patch(context.Background(), ro, client.RawPatch(types.MergePatchType, []byte(patch)))
			})
		}
		if err := g.Wait(); err != nil {
			t.Fatalf("round %d: patch status: %v", round, err)
		}
		var shown roundSeen
		b.waitFor(updateBound+5*time.Second, fmt.Sprintf("round %d: %v to show Degraded", round, names), func() (bool, string) {
			r := must[*roundSeen](b, `window.__round`)
			if r != nil {
				shown = *r
			}
			return r != nil, b.describe()
		})
		latency := time.UnixMilli(int64(shown.At)).Sub(start)
		// Events that settle later belong to this update too.
		time.Sleep(500 * time.Millisecond)
		var bytes, deltas int
		for _, m := range stream.since(start) {
			if m.event != "delta" {
				t.Errorf("round %d: the stream sent a %q event of %d bytes, want only deltas", round, m.event, m.bytes)
			}
			bytes += m.bytes
			deltas++
		}
		var apply float64
		var applied int
		for _, m := range must[[]measure](b, `window.__measures`)[before:] {
			if m.Name == "aviary:list-apply" {
				apply += m.Ms
				applied += m.Rows
			}
		}
		t.Logf("%s, round %d: %d rows changed; shown %s after the patches; %d delta events, %d bytes (snapshot %d); the page applied %d rows in %.1f ms and laid out in %.1f ms",
			item, round, scaleChanged, latency.Round(time.Millisecond), deltas, bytes, snapshot, applied, apply, shown.LayoutMs)
		if latency > updateBound {
			t.Errorf("round %d: the page showed the update %s after the patches, want within %s", round, latency.Round(time.Millisecond), updateBound)
		}
		// A delta carries each changed row once, as the snapshot has it, in
		// a small envelope; the row grows by its new message. Twice the
		// mean row per change, plus 512 bytes of envelope, bounds that
		// with room; resending the list would be ~N/k = 600 times more.
		if limit := scaleChanged*2*snapshot/scaleRollouts + 512; bytes > limit || deltas == 0 {
			t.Errorf("round %d: the stream sent %d bytes in %d events for %d changed rows, want at least one event and at most %d (2× the mean row of the %d-byte snapshot each, plus 512)",
				round, bytes, deltas, scaleChanged, limit, snapshot)
		}
		if applied != scaleChanged {
			t.Errorf("round %d: the page applied %d rows, want the %d changed", round, applied, scaleChanged)
		}
		costs[item] = append(costs[item], apply+shown.LayoutMs)
	}
	for range scaleRounds {
		update("rollout-card")
	}

	// A rollout comes and another goes: the page inserts and removes
	// cards in place and keeps them in order, in grids of 120.
	added := scaleRollout(ns, 1500)
	added.Name += "-new"
	gone := scaleRollout(ns, 7)
	start := time.Now()
	if err := c.Create(context.Background(), added); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(context.Background(), gone); err != nil {
		t.Fatal(err)
	}
	want := []string{}
	for i := range scaleRollouts {
		if i != 7 {
			want = append(want, scaleRollout(ns, i).Name)
		}
		if i == 1500 {
			want = append(want, added.Name)
		}
	}
	var got []string
	b.waitFor(updateBound, fmt.Sprintf("%s on the page and %s gone", added.Name, gone.Name), func() (bool, string) {
		got = must[[]string](b, `[...document.querySelectorAll('[data-testid=rollout-card]')].map((e) => e.dataset.name)`)
		return slices.Equal(got, want), fmt.Sprintf("%d cards", len(got))
	})
	t.Logf("a rollout added and one deleted: shown in order within %s", time.Since(start).Round(time.Millisecond))
	if grids := must[[]int](b, `[...document.querySelectorAll('.cards > .grid')].map((g) => g.childElementCount)`); slices.ContainsFunc(grids[:len(grids)-1], func(n int) bool { return n != 120 }) {
		t.Errorf("cards per grid %v, want 120 in each but the last", grids)
	}

	// Drawing every row anew, as choosing the other layout does, is what
	// an update is compared with: the click runs the page's redraw at
	// once, and the layout is forced right after it.
	redraw := func(button, item string) float64 {
		t.Helper()
		ms := must[float64](b, fmt.Sprintf(`(() => {
			const t = performance.now();
			document.querySelector(%s).click();
			document.body.getBoundingClientRect();
			return performance.now() - t;
		})()`, js(button)))
		if n := b.count(fmt.Sprintf("[data-testid=%s]", item)); n != scaleRollouts {
			t.Fatalf("after %s the page shows %d %s, want %d", button, n, item, scaleRollouts)
		}
		return ms
	}
	full := map[string]float64{"rollout-row": redraw("button#view-table", "rollout-row")}
	for range scaleRounds {
		update("rollout-row")
	}
	full["rollout-card"] = redraw("button#view-grid", "rollout-card")

	// What the browser spends on an update is bounded by the rows it
	// changes, not by the list: at most a tenth of drawing and laying out
	// every row (the median of the rounds, so one pause of a loaded
	// machine does not decide). A page that drew everything again on each
	// update would spend about as much as on the whole, and fail.
	for _, item := range []string{"rollout-card", "rollout-row"} {
		ms := slices.Clone(costs[item])
		sort.Float64s(ms)
		median := ms[len(ms)/2]
		t.Logf("%s: an update of %d rows cost the browser %.1f ms (median of %.1f), drawing and laying out all %d %.0f ms",
			item, scaleChanged, median, ms, scaleRollouts, full[item])
		if median > full[item]/10 {
			t.Errorf("%s: an update of %d rows cost the browser %.1f ms (median), want at most a tenth of drawing and laying out all %d (%.0f ms)",
				item, scaleChanged, median, scaleRollouts, full[item])
		}
	}
}
