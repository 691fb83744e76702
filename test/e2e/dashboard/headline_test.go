package dashboard

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

// pageTimeout is how long the page may take to show what the API server
// already holds: it is told of changes by a stream, not by polling.
const pageTimeout = 10 * time.Second

// pageLag is how much later than the API server the page may show a change.
const pageLag = 2 * time.Second

// waitRollout waits until the Rollout, as the API server has it, meets cond.
func waitRollout(t *testing.T, h *framework.Headline, timeout time.Duration, what string, cond func(*v1alpha1.Rollout) bool) *v1alpha1.Rollout {
	t.Helper()
	var ro *v1alpha1.Rollout
	framework.Eventually(t, timeout, what, func() (bool, string) {
		ro = h.Rollout()
		idx := "none"
		if ro.Status.CurrentStepIndex != nil {
			idx = strconv.Itoa(int(*ro.Status.CurrentStepIndex))
		}
		return cond(ro), fmt.Sprintf("phase %s, step %s, abort %v, message %q", ro.Status.Phase, idx, ro.Status.Abort, ro.Status.Message)
	})
	return ro
}

// revisions are the ReplicaSets' revision annotations by image.
func revisions(t *testing.T, h *framework.Headline) map[string]string {
	t.Helper()
	var list appsv1.ReplicaSetList
	if err := h.Env.Client.List(context.Background(), &list, client.InNamespace(h.Namespace)); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, rs := range list.Items {
		out[rs.Spec.Template.Spec.Containers[0].Image] = rs.Annotations[v1alpha1.RevisionAnnotation]
	}
	return out
}

func stepIs(ro *v1alpha1.Rollout, i int32) bool {
	return ro.Status.CurrentStepIndex != nil && *ro.Status.CurrentStepIndex == i
}

// weight is a weight field's number, whatever unit the page shows with it.
func weight(s string) string { return strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "%")) }

var podCount = regexp.MustCompile(`^\d+/\d+$`)

// wantSteps waits until the page shows n steps, those before current
// done, current highlighted, the rest pending.
func (b *browser) wantSteps(n, current int) {
	b.t.Helper()
	want := make([]string, n)
	for i := range want {
		switch {
		case i < current:
			want[i] = "done"
		case i == current:
			want[i] = "current"
		default:
			want[i] = "pending"
		}
	}
	b.waitFor(pageTimeout, fmt.Sprintf("steps %v", want), func() (bool, string) {
		var got []string
		for i := range n {
			got = append(got, b.attr(fmt.Sprintf(`[data-testid=step][data-index="%d"]`, i), "data-state"))
		}
		all := b.count("[data-testid=step]")
		return all == n && slices.Equal(got, want), fmt.Sprintf("%d steps, states %v", all, got)
	})
}

// points is the number of measurements a chart plots (-1: no chart).
func (b *browser) points(chart string) int {
	b.t.Helper()
	n, err := strconv.Atoi(b.attr(chart, "data-points"))
	if err != nil {
		return -1
	}
	return n
}

// TestDashboardHeadline drives the headline scenario (seed 01, NGINX and
// Prometheus analysis) from the dashboard: what the list and the detail
// page show mid-rollout, the analysis chart filling in as measurements
// arrive, and Promote, Abort, Retry, Rollback and the image edit, each
// checked through the API server. The seed's pauses wait for a promote,
// so the rollout stays where the test looks at it.
func TestDashboardHeadline(t *testing.T) {
	t.Parallel()
	h := framework.StartHeadline(t, "")
	ns, name := h.Namespace, framework.HeadlineRollout
	d := startDashboard(t, ns, "0")
	b := newBrowser(t)

	h.SetImage("argoproj/rollouts-demo:green")
	waitRollout(t, h, time.Minute, "green paused at the first pause (step 1)", func(ro *v1alpha1.Rollout) bool {
		return ro.Status.Phase == v1alpha1.RolloutPhasePaused && stepIs(ro, 1)
	})

	card := fmt.Sprintf("[data-testid=rollout-card][data-name=%q]", name)
	listURL := d.URL + "/"
	detailURL := fmt.Sprintf("%s/rollout/%s/%s", d.URL, ns, name)

	t.Run("list", func(t *testing.T) {
		b := b.on(t)
		b.open(listURL, card)
		b.waitText(pageTimeout, card+" [data-field=status]", "Paused")
		b.waitText(pageTimeout, card+" [data-field=step]", "1/8")
		b.waitFor(pageTimeout, "the card's weights to read 20", func() (bool, string) {
			set, actual := b.text(card+" [data-field=set-weight]"), b.text(card+" [data-field=actual-weight]")
			return weight(set) == "20" && weight(actual) == "20", fmt.Sprintf("set weight %q, actual weight %q", set, actual)
		})
		if pods := b.text(card + " [data-field=pods]"); !podCount.MatchString(pods) {
			t.Errorf("the card's pods read %q, want READY/DESIRED such as 1/1", pods)
		}
		if got := must[string](b, `document.querySelector("select#namespace").value`); got != ns {
			t.Errorf("the namespace selector shows %q, want %q (the CLI's -n)", got, ns)
		}
		if got := b.text("button[data-filter=Paused] [data-count]"); got != "1" {
			t.Errorf("the Paused filter counts %q, want 1", got)
		}
		if got := b.text("button[data-filter=attention] [data-count]"); got != "0" {
			t.Errorf("the needs-attention filter counts %q, want 0 (a pause step is not a reason)", got)
		}

		// The search hides what does not match and shows it again.
		b.typeInto("input#search", "no-such-rollout")
		b.waitFor(pageTimeout, "the search to hide the card", func() (bool, string) {
			n := b.visible(card)
			return n == 0, fmt.Sprintf("%d visible", n)
		})
		b.typeInto("input#search", "canary")
		b.waitFor(pageTimeout, "the search to show the card again", func() (bool, string) {
			n := b.visible(card)
			return n == 1, fmt.Sprintf("%d visible", n)
		})

		row := fmt.Sprintf("tr[data-testid=rollout-row][data-name=%q]", name)
		b.click("button#view-table")
		b.do("wait for the table", chromedp.WaitVisible(chromedp.CSS(row)))
		b.waitText(pageTimeout, row+" [data-field=status]", "Paused")
		b.waitText(pageTimeout, row+" [data-field=step]", "1/8")
		b.click("button#view-grid")
		b.do("wait for the cards", chromedp.WaitVisible(chromedp.CSS(card)))

		b.clickToNavigate(card+" a[data-testid=rollout-link]", "[data-testid=rollout-status]")
		if path := must[string](b, "location.pathname"); path != fmt.Sprintf("/rollouts/rollout/%s/%s", ns, name) {
			t.Errorf("the rollout's link led to %s", path)
		}
	})

	t.Run("detail", func(t *testing.T) {
		b := b.on(t)
		b.open(detailURL, "[data-testid=rollout-status]")
		b.waitText(pageTimeout, "[data-testid=rollout-status]", "Paused")
		if got := b.text("[data-field=strategy]"); !strings.Contains(strings.ToLower(got), "canary") {
			t.Errorf("strategy reads %q, want Canary", got)
		}
		b.waitText(pageTimeout, "[data-field=step]", "1/8")
		b.wantSteps(8, 1)
		b.waitFor(pageTimeout, "two revisions, the older with a rollback button", func() (bool, string) {
			revs := b.attrs("[data-testid=revision]", "data-revision")
			return len(revs) == 2 && b.count(`[data-testid=revision][data-revision="1"] button[data-action=rollback]`) == 1,
				fmt.Sprintf("revisions %v; %s", revs, b.describe())
		})
		if n := b.count("[data-testid=pod]"); n < 1 {
			t.Errorf("%d pods shown, want the stable and canary pods", n)
		}
		if n := b.count(fmt.Sprintf("[data-testid=container][data-container=%q]", name)); n != 1 {
			t.Errorf("%d containers named %s shown, want 1", n, name)
		}
		for action, want := range map[string]bool{"promote": true, "promote-full": true, "abort": true, "retry": false, "pause": true, "restart": true} {
			if got := !b.disabled("button[data-action=" + action + "]"); got != want {
				t.Errorf("button %s enabled = %v, want %v while paused mid-rollout", action, got, want)
			}
		}
	})

	// The rest works on the detail page as a person would, without
	// reloading it; each step starts where the one before left the
	// rollout, so the first failure ends the test.
	b.open(detailURL, "[data-testid=rollout-status]")
	b.markPage()

	if !t.Run("promote", func(t *testing.T) {
		b := b.on(t)
		b.act("button[data-action=promote]", false)
		if ro := h.Rollout(); !stepIs(ro, 1) {
			t.Fatalf("cancelling the confirmation still promoted: step %v", ro.Status.CurrentStepIndex)
		}
		b.actOK("button[data-action=promote]")
		waitRollout(t, h, time.Minute, "Promote to move past step 1 and pause again at step 3", func(ro *v1alpha1.Rollout) bool {
			return ro.Status.Phase == v1alpha1.RolloutPhasePaused && stepIs(ro, 3)
		})
		b.waitText(pageTimeout, "[data-field=step]", "3/8")
		b.waitText(pageTimeout, "[data-testid=rollout-status]", "Paused")
		b.wantSteps(8, 3)
	}) {
		return
	}

	if !t.Run("analysis", func(t *testing.T) {
		b := b.on(t)
		var run string
		framework.Eventually(t, 30*time.Second, "the background AnalysisRun (startingStep 2)", func() (bool, string) {
			runs := h.Runs()
			if len(runs) == 1 {
				run = runs[0].Name
			}
			return run != "", fmt.Sprintf("%d runs", len(runs))
		})
		sel := fmt.Sprintf("[data-testid=analysisrun][data-name=%q]", run)
		metric := sel + " [data-testid=metric][data-metric=success-rate]"
		chart := metric + " svg[data-testid=metric-chart]"
		b.waitFor(pageTimeout, "the run, running, with its chart", func() (bool, string) {
			status, points := b.attr(sel, "data-status"), b.attr(chart, "data-points")
			return status == "Running" && points != "<absent>", fmt.Sprintf("status %s, chart points %s; %s", status, points, b.describe())
		})
		if q := b.text(metric + " [data-testid=metric-query]"); !strings.Contains(q, `ingress="canary-demo"`) || strings.Contains(q, "{{") {
			t.Errorf("the metric's query reads %q, want it with args.ingress resolved to canary-demo", q)
		}
		first := b.points(chart)
		// The seed measures every 10 s.
		b.waitFor(35*time.Second, "the chart to grow as measurements arrive", func() (bool, string) {
			n := b.points(chart)
			return n > first && n >= 2, fmt.Sprintf("%d points, first seen %d", n, first)
		})
		if !b.kept() {
			t.Error("the page reloaded itself; it should update in place")
		}
	}) {
		return
	}

	// Screenshots of the rollout mid-way, with an analysis under way.
	b.screenshots("list", listURL, card)
	b.screenshots("detail", detailURL, "[data-testid=analysisrun]")
	b.open(detailURL, "[data-testid=rollout-status]")
	b.markPage()

	if !t.Run("abort", func(t *testing.T) {
		b := b.on(t)
		b.actOK("button[data-action=abort]")
		// Both sides are polled together, so the lag is the page's.
		var apiAt, pageAt time.Time
		deadline := time.Now().Add(30 * time.Second)
		for (apiAt.IsZero() || pageAt.IsZero()) && time.Now().Before(deadline) {
			if apiAt.IsZero() && h.Rollout().Status.Phase == v1alpha1.RolloutPhaseDegraded {
				apiAt = time.Now()
			}
			if pageAt.IsZero() && b.text("[data-testid=rollout-status]") == "Degraded" {
				pageAt = time.Now()
			}
			time.Sleep(50 * time.Millisecond)
		}
		switch {
		case apiAt.IsZero():
			t.Fatalf("the rollout never became Degraded after Abort: %+v", h.Rollout().Status)
		case pageAt.IsZero():
			t.Fatalf("the page never showed Degraded: %s", b.describe())
		case pageAt.Sub(apiAt) > pageLag:
			t.Errorf("the page showed Degraded %s after the API server, want within %s", pageAt.Sub(apiAt), pageLag)
		}
		t.Logf("the page showed Degraded %s after the API server", pageAt.Sub(apiAt).Round(time.Millisecond))
		if !h.Rollout().Status.Abort {
			t.Error("status.abort is not set")
		}
		if msg := b.text("[data-testid=rollout-message]"); msg == "" || msg == "<absent>" {
			t.Error("no message says why the rollout is Degraded")
		}
		b.waitFor(pageTimeout, "Retry to be offered instead of Promote and Abort", func() (bool, string) {
			r, p, a := b.disabled("button[data-action=retry]"), b.disabled("button[data-action=promote]"), b.disabled("button[data-action=abort]")
			return !r && p && a, fmt.Sprintf("disabled: retry %v, promote %v, abort %v", r, p, a)
		})
		if !b.kept() {
			t.Error("the page reloaded itself; it should update in place")
		}
	}) {
		return
	}

	if !t.Run("retry", func(t *testing.T) {
		b := b.on(t)
		b.actOK("button[data-action=retry]")
		waitRollout(t, h, time.Minute, "Retry to lift the abort and run the steps again to the first pause", func(ro *v1alpha1.Rollout) bool {
			return !ro.Status.Abort && ro.Status.Phase == v1alpha1.RolloutPhasePaused && stepIs(ro, 1)
		})
		b.waitText(pageTimeout, "[data-testid=rollout-status]", "Paused")
		b.waitText(pageTimeout, "[data-field=step]", "1/8")
	}) {
		return
	}

	if !t.Run("rollback", func(t *testing.T) {
		b := b.on(t)
		button := `[data-testid=revision][data-revision="1"] button[data-action=rollback]`
		b.actOK(button)
		framework.Eventually(t, time.Minute, "Rollback to revision 1 to make blue revision 3", func() (bool, string) {
			img := h.Rollout().Spec.Template.Spec.Containers[0].Image
			revs := revisions(t, h)
			return img == "argoproj/rollouts-demo:blue" && revs["argoproj/rollouts-demo:blue"] == "3",
				fmt.Sprintf("rollout image %s, ReplicaSet revisions by image %v", img, revs)
		})
		b.waitFor(pageTimeout, "revision 3 with blue on the page", func() (bool, string) {
			txt := b.text(`[data-testid=revision][data-revision="3"]`)
			return strings.Contains(txt, "argoproj/rollouts-demo:blue"), fmt.Sprintf("revision 3 reads %q", txt)
		})
	}) {
		return
	}

	t.Run("edit image", func(t *testing.T) {
		b := b.on(t)
		box := fmt.Sprintf("[data-testid=container][data-container=%q]", name)
		b.click(box + " button[data-action=edit-image]")
		input := box + " input[data-field=image]"
		b.typeInto(input, "argoproj/rollouts-demo:yellow")
		b.actOK(box + " button[data-action=save-image]")
		framework.Eventually(t, time.Minute, "the edit to set the image", func() (bool, string) {
			img := h.Rollout().Spec.Template.Spec.Containers[0].Image
			return img == "argoproj/rollouts-demo:yellow", "image " + img
		})
		b.waitFor(pageTimeout, "the container to show the new image", func() (bool, string) {
			txt := b.text(box)
			return strings.Contains(txt, "argoproj/rollouts-demo:yellow"), fmt.Sprintf("it reads %q", txt)
		})
		if !b.kept() {
			t.Error("the page reloaded itself; it should update in place")
		}
	})
}
