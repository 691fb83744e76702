package dashboard

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

// TestDashboardStaleToken leaves a page open while the dashboard restarts,
// as happens when a person stops and starts the command: the page holds
// the old CSRF token, so its action is refused, and it must say so in
// words rather than fail silently. After a reload the same click works.
func TestDashboardStaleToken(t *testing.T) {
	t.Parallel()
	ns, d := startPlain(t)
	b := newBrowser(t)
	detail := fmt.Sprintf("%s/rollout/%s/plain", d.URL, ns)
	b.open(detail, restart)

	d.stop()
	startDashboard(t, ns, d.Port())
	if kind, text := b.act(restart, true); kind != "error" {
		t.Errorf("the refused restart showed a %q notice %q, want an error", kind, text)
	}
	notice := "[data-testid=notice][data-kind=error]"
	b.waitFor(pageTimeout, "an error notice saying what to do", func() (bool, string) {
		txt := strings.ToLower(b.text(notice))
		return strings.Contains(txt, "token") || strings.Contains(txt, "reload"), fmt.Sprintf("%s reads %q", notice, txt)
	})
	txt := b.text(notice)
	t.Logf("the page said: %s", txt)
	if strings.Contains(txt, "[object") || strings.Contains(txt, "undefined") || strings.HasPrefix(txt, "{") {
		t.Errorf("the notice is not readable: %q", txt)
	}
	if at := getPlain(t, ns).Spec.RestartAt; at != nil {
		t.Fatalf("the refused restart set restartAt %v", at)
	}

	b.open(detail, restart)
	b.actOK(restart)
	framework.Eventually(t, 10*time.Second, "the restart after a reload to set restartAt", func() (bool, string) {
		return getPlain(t, ns).Spec.RestartAt != nil, "not set"
	})
}

// restart is the rollout page's Restart button.
const restart = "button[data-action=restart]"

// openPlainPage is the plain rollout's page in a browser, once its Restart
// button shows.
func openPlainPage(t *testing.T) (string, *dashboard, *browser) {
	t.Helper()
	ns, d := startPlain(t)
	b := newBrowser(t)
	b.open(fmt.Sprintf("%s/rollout/%s/plain", d.URL, ns), restart)
	return ns, d, b
}

// TestDashboardConfirmAnswersOnlyItsQuestion cancels an action and asks
// and confirms it again in one go, faster than the dialog's close event
// is delivered (a loaded CI machine once delayed it past the next click,
// and the late event answered the new question "no"; clicked this fast,
// the cancelled action was sent too). Exactly the confirmed action must be
// sent, once. The page's PUTs are counted as they start, so no waiting is
// needed to see one that should not have been sent: an answer taken from
// a queued close event would have started its request before the first
// response arrives.
func TestDashboardConfirmAnswersOnlyItsQuestion(t *testing.T) {
	t.Parallel()
	ns, d, b := openPlainPage(t)
	must[chromedp.Void](b, `window.__puts = 0; {
		const send = window.fetch;
		window.fetch = (url, opts) => { if (opts?.method === 'PUT') window.__puts++; return send(url, opts); };
	}`)
	puts := func() int { return must[int](b, `window.__puts`) }

	click := func(sel string) string { return fmt.Sprintf("document.querySelector(%s).click();", js(sel)) }
	must[chromedp.Void](b, click(restart)+click(confirmNo)+click(restart)+click(confirmYes))
	b.waitFor(pageTimeout, "a notice with the restart's outcome", func() (bool, string) {
		return b.count("[data-testid=notice]") > 0, b.describe()
	})
	if n := puts(); n != 1 {
		t.Fatalf("the page sent %d actions, want exactly the one confirmed; the dashboard's output:\n%s", n, d.output())
	}
	if kinds := b.attrs("[data-testid=notice]", "data-kind"); len(kinds) != 1 || kinds[0] != "info" {
		t.Fatalf("notices %v (%s), want one info notice", kinds, b.text("[data-testid=notice]"))
	}
	if n := strings.Count(d.output(), "PUT /rollouts/api/v1/rollouts/"+ns+"/plain/restart → 200"); n != 1 {
		t.Errorf("the dashboard logged %d answered restarts, want 1; its output:\n%s", n, d.output())
	}
	if getPlain(t, ns).Spec.RestartAt == nil {
		t.Error("restartAt is not set after the confirmed restart")
	}
	if open := must[bool](b, `document.getElementById('confirm').open`); open {
		t.Fatal("the confirmation is still open")
	}

	// Esc is "no": it closes the question and sends nothing.
	b.click(restart)
	b.do("wait for the confirmation", chromedp.WaitVisible(chromedp.CSS(confirmDialog)))
	b.do("press Esc", chromedp.KeyEvent(kb.Escape))
	b.do("wait for Esc to close the confirmation", chromedp.WaitNotVisible(chromedp.CSS(confirmDialog)))
	if n := puts(); n != 1 {
		t.Errorf("after Esc the page has sent %d actions, want still 1", n)
	}
}

// TestDashboardButtonsSurviveUpdates focuses an action button and changes
// the Rollout underneath the page: the update must change the button in
// place, so a person's focus stays on it and a click pressed as the update
// arrives is not lost on a replaced element.
func TestDashboardButtonsSurviveUpdates(t *testing.T) {
	t.Parallel()
	ns, d, b := openPlainPage(t)
	must[bool](b, fmt.Sprintf(`(window.__restart = document.querySelector(%s), window.__restart.focus(), true)`, js(restart)))

	patch := `{"spec":{"template":{"spec":{"containers":[{"name":"web","image":"argoproj/rollouts-demo:green"}]}}}}`
	if out, err := framework.Get(t).Kubectl(t.Context(), "-n", ns, "patch", "rollout", "plain", "--type", "merge", "-p", patch); err != nil {
		t.Fatalf("patch the image: %v\n%s", err, out)
	}
	b.waitFor(pageTimeout, "the page to show the new image", func() (bool, string) {
		return strings.Contains(b.text(".containers"), "rollouts-demo:green"), b.describe()
	})
	if same := must[bool](b, fmt.Sprintf(`document.querySelector(%s) === window.__restart`, js(restart))); !same {
		t.Fatalf("the update replaced the Restart button; page now: %s\nthe dashboard's output:\n%s", b.describe(), d.output())
	}
	if focused := must[bool](b, `document.activeElement === window.__restart`); !focused {
		t.Fatalf("the update took the focus off the Restart button; page now: %s", b.describe())
	}
}
