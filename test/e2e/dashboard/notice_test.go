package dashboard

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

// TestDashboardStaleToken leaves a page open while the dashboard restarts,
// as happens when a person stops and starts the command: the page holds
// the old CSRF token, so its action is refused, and it must say so in
// words rather than fail silently. After a reload the same click works.
func TestDashboardStaleToken(t *testing.T) {
	t.Parallel()
	ns := framework.Namespace(t)
	applyPlain(t, ns)
	d := startDashboard(t, ns, "0")
	b := newBrowser(t)
	detail := fmt.Sprintf("%s/rollout/%s/plain", d.URL, ns)
	restart := "button[data-action=restart]"
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
