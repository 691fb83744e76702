package dashboard

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

// actionTimeout bounds one browser action, so a page that never shows
// what a test waits for fails that test with the reason instead of
// hanging the package.
const actionTimeout = 15 * time.Second

// browser is one headless Chromium with one tab, closed when the test
// ends, as seen by one (sub)test: failures go to t.
type browser struct {
	t *testing.T
	*tab
}

type tab struct {
	ctx context.Context

	mu sync.Mutex
	// console is what the page and the browser logged about it.
	console []string
	// exceptions are the page's uncaught exceptions: each fails the test.
	exceptions []string
}

// on is the same tab reporting to a subtest.
func (b *browser) on(t *testing.T) *browser { return &browser{t: t, tab: b.tab} }

// newBrowser starts Chromium (Debian's `chromium`; .ci/run installs it)
// with a 1280×800 window. Tests fail, never skip, when it is missing.
func newBrowser(t *testing.T) *browser {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("chromium is not installed (apt-get install chromium; .ci/run does it): %v", err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Headless,
		// Tests run as root in CI, where Chromium's sandbox cannot start.
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.WindowSize(1280, 800),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	b := &browser{t: t, tab: &tab{ctx: ctx}}
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
		b.mu.Lock()
		defer b.mu.Unlock()
		if len(b.exceptions) > 0 {
			t.Errorf("the page threw %d uncaught exceptions:\n%s", len(b.exceptions), strings.Join(b.exceptions, "\n"))
		}
		// Errors and warnings (failed loads, refused scripts, the page's
		// own console.error) are worth a look even when the test passes.
		lines := b.console
		if !t.Failed() {
			lines = slices.DeleteFunc(slices.Clone(lines), func(l string) bool { return !strings.Contains(l, "error") && !strings.Contains(l, "warning") })
		}
		if len(lines) > 0 {
			t.Logf("browser console:\n%s", strings.Join(lines, "\n"))
		}
	})
	// The first action starts the browser; it runs without a deadline,
	// because a deadline on it would end the browser with it.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium %s: %v", path, err)
	}
	go collect(b, chromedp.Events(ctx, runtime.ConsoleAPICalled), func(ev runtime.EventConsoleAPICalled) {
		var args []string
		for _, a := range ev.Args {
			if len(a.Value) > 0 {
				args = append(args, string(a.Value))
			} else {
				args = append(args, a.Description)
			}
		}
		b.console = append(b.console, fmt.Sprintf("console.%s: %s", ev.Type, strings.Join(args, " ")))
	})
	go collect(b, chromedp.Events(ctx, log.EntryAdded), func(ev log.EventEntryAdded) {
		e := ev.Entry
		b.console = append(b.console, fmt.Sprintf("%s %s: %s %s", e.Source, e.Level, e.Text, e.URL))
	})
	go collect(b, chromedp.Events(ctx, runtime.ExceptionThrown), func(ev runtime.EventExceptionThrown) {
		d := ev.ExceptionDetails
		msg := d.Text
		if d.Exception != nil {
			msg += " " + d.Exception.Description
		}
		b.exceptions = append(b.exceptions, fmt.Sprintf("%s:%d: %s", d.URL, d.LineNumber+1, msg))
	})
	return b
}

// collect records events until the browser closes.
func collect[E any](b *browser, events iter.Seq2[E, error], record func(E)) {
	for ev, err := range events {
		if err != nil {
			return
		}
		b.mu.Lock()
		record(ev)
		b.mu.Unlock()
	}
}

// do runs actions, each within actionTimeout, and fails the test with what
// was being done if one fails.
func (b *browser) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	for _, a := range actions {
		ctx, cancel := context.WithTimeout(b.ctx, actionTimeout)
		err := chromedp.Do(ctx, a)
		cancel()
		if err != nil {
			b.t.Fatalf("%s: %v (page now: %s)", what, err, b.describe())
		}
	}
}

// eval evaluates a JavaScript expression in the page and decodes its value.
func eval[T any](b *browser, expr string) (T, error) {
	ctx, cancel := context.WithTimeout(b.ctx, actionTimeout)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[T](expr))
}

// must is eval that fails the test on an error.
func must[T any](b *browser, expr string) T {
	b.t.Helper()
	v, err := eval[T](b, expr)
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// js quotes a string for a JavaScript expression.
func js(s string) string {
	q, _ := json.Marshal(s)
	return string(q)
}

// textOf is an expression for the text of the first element sel matches
// as a screen reader reads it (without aria-hidden decoration such as
// status icons), spaces collapsed; null if nothing matches.
func textOf(sel string) string {
	return fmt.Sprintf(`((e) => {
		if (!e) return null;
		const c = e.cloneNode(true);
		c.querySelectorAll('[aria-hidden=true]').forEach((x) => x.remove());
		return c.textContent.replace(/\s+/g, ' ').trim();
	})(document.querySelector(%s))`, js(sel))
}

// text is the trimmed text of sel, or "<absent>".
func (b *browser) text(sel string) string {
	b.t.Helper()
	s := must[*string](b, textOf(sel))
	if s == nil {
		return "<absent>"
	}
	return *s
}

// count is the number of elements sel matches.
func (b *browser) count(sel string) int {
	b.t.Helper()
	return must[int](b, fmt.Sprintf("document.querySelectorAll(%s).length", js(sel)))
}

// attr is an attribute of the first element sel matches, or "<absent>".
func (b *browser) attr(sel, name string) string {
	b.t.Helper()
	s := must[*string](b, fmt.Sprintf("(document.querySelector(%s)?.getAttribute(%s) ?? null)", js(sel), js(name)))
	if s == nil {
		return "<absent>"
	}
	return *s
}

// disabled reports whether the first element sel matches is disabled; it
// fails the test if there is none.
func (b *browser) disabled(sel string) bool {
	b.t.Helper()
	d := must[*bool](b, fmt.Sprintf("(document.querySelector(%s)?.disabled ?? null)", js(sel)))
	if d == nil {
		b.t.Fatalf("no element %s; page now: %s", sel, b.describe())
	}
	return *d
}

// waitFor polls cond (reading the page through the helpers above) until it
// holds, then returns; the page updates itself, so nothing reloads it.
func (b *browser) waitFor(timeout time.Duration, what string, cond func() (bool, string)) {
	b.t.Helper()
	framework.Eventually(b.t, timeout, what, cond)
}

// waitText waits until sel's text is want.
func (b *browser) waitText(timeout time.Duration, sel, want string) {
	b.t.Helper()
	b.waitFor(timeout, fmt.Sprintf("%s to read %q", sel, want), func() (bool, string) {
		got := b.text(sel)
		return got == want, fmt.Sprintf("it reads %q", got)
	})
}

// describe is the page's address and the start of its text, for failures.
func (b *browser) describe() string {
	s, err := eval[string](b, `location.href + " — " + document.body.innerText.slice(0, 600).replace(/\s+/g, " ")`)
	if err != nil {
		return fmt.Sprintf("(unreadable: %v)", err)
	}
	return s
}

// open navigates to url and waits until sel is visible.
func (b *browser) open(url, sel string) {
	b.t.Helper()
	b.do("open "+url, chromedp.Navigate(url))
	b.do("wait for "+sel+" on "+url, chromedp.WaitVisible(chromedp.CSS(sel)))
}

// click clicks the first visible element sel matches.
func (b *browser) click(sel string) {
	b.t.Helper()
	b.do("click "+sel, chromedp.Click(chromedp.CSS(sel)))
}

// clickToNavigate clicks a link and waits for the page it leads to (shown
// by arrived). A click a layout shift made miss (the connection banner
// coming or going on a loaded machine) is clicked again, as a person
// would, up to three times, each logged.
func (b *browser) clickToNavigate(link, arrived string) {
	b.t.Helper()
	for try := 1; ; try++ {
		b.click(link)
		ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
		err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(arrived)))
		cancel()
		if err == nil {
			return
		}
		if try == 3 {
			b.t.Fatalf("click %s: %s never came after 3 clicks (page now: %s)", link, arrived, b.describe())
		}
		b.t.Logf("click %s led nowhere (page now: %s); clicking again", link, b.describe())
	}
}

const (
	confirmDialog = "dialog[data-testid=confirm]"
	confirmYes    = confirmDialog + " button[data-confirm=yes]"
	confirmNo     = confirmDialog + " button[data-confirm=no]"
)

// act clicks an action button, waits for the confirmation dialog and
// answers it; the dialog must close. A confirmed action must then report
// its outcome in a notice, whose kind and text act returns.
func (b *browser) act(sel string, yes bool) (kind, text string) {
	b.t.Helper()
	if b.disabled(sel) {
		b.t.Fatalf("%s is disabled; page now: %s", sel, b.describe())
	}
	// Earlier notices are cleared so the one this action shows is known.
	must[bool](b, `(document.querySelectorAll('[data-testid=notice]').forEach(n => n.remove()), true)`)
	b.click(sel)
	b.do("wait for the confirmation after "+sel, chromedp.WaitVisible(chromedp.CSS(confirmDialog)))
	answer := confirmNo
	if yes {
		answer = confirmYes
	}
	b.click(answer)
	b.do("wait for the confirmation to close", chromedp.WaitNotVisible(chromedp.CSS(confirmDialog)))
	if !yes {
		return "", ""
	}
	b.waitFor(pageTimeout, "a notice with the outcome of "+sel, func() (bool, string) {
		got := must[[]string](b, `(() => { const n = document.querySelector('[data-testid=notice]'); return n ? [n.dataset.kind, n.innerText] : []; })()`)
		if len(got) == 2 {
			kind, text = got[0], got[1]
		}
		open := must[bool](b, `document.getElementById('confirm').open`)
		return len(got) == 2, fmt.Sprintf("(confirmation open: %v; the dashboard's output, logged below, has each request it answered) %s", open, b.describe())
	})
	return kind, text
}

// actOK is a confirmed act that must succeed.
func (b *browser) actOK(sel string) {
	b.t.Helper()
	if kind, text := b.act(sel, true); kind == "error" {
		b.t.Fatalf("%s failed: the page says %q", sel, text)
	}
}

// visible is the number of elements sel matches that take up room on the page.
func (b *browser) visible(sel string) int {
	b.t.Helper()
	return must[int](b, fmt.Sprintf("[...document.querySelectorAll(%s)].filter(e => e.getClientRects().length > 0).length", js(sel)))
}

// attrs is an attribute of every element sel matches.
func (b *browser) attrs(sel, name string) []string {
	b.t.Helper()
	return must[[]string](b, fmt.Sprintf("[...document.querySelectorAll(%s)].map(e => e.getAttribute(%s))", js(sel), js(name)))
}

// typeInto replaces the text of an input as a person does: select what is
// there, then type over it (so the page sees its usual input events).
func (b *browser) typeInto(sel, text string) {
	b.t.Helper()
	b.click(sel)
	must[chromedp.Void](b, fmt.Sprintf("document.querySelector(%s).select()", js(sel)))
	b.do("type "+text+" into "+sel, chromedp.SendKeys(chromedp.CSS(sel), text))
}

// markPage tags the page's window; kept reports whether the tag is still
// there, i.e. the page has not been reloaded since.
func (b *browser) markPage() {
	b.t.Helper()
	must[chromedp.Void](b, `window.__aviaryE2E = true`)
}

func (b *browser) kept() bool {
	b.t.Helper()
	return must[bool](b, `window.__aviaryE2E === true`)
}

// screenshotDir is where screenshots go: $AVIARY_SCREENSHOTS, else
// test/e2e/dashboard/screenshots (ignored by git), kept after the test so
// a person can look at them.
func screenshotDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("AVIARY_SCREENSHOTS")
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			t.Fatal(err)
		}
		dir = filepath.Join(wd, "screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// viewport is a screen the screenshots are taken on.
type viewport struct {
	name          string
	width, height int64
	mobile        bool
}

var viewports = []viewport{
	{name: "desktop", width: 1280, height: 800},
	{name: "phone", width: 390, height: 844, mobile: true},
}

// screenshots opens url (waiting for sel) on each viewport and writes
// NAME-VIEWPORT.png (what the screen shows) and NAME-VIEWPORT-full.png
// (the whole page); it leaves the desktop viewport on.
func (b *browser) screenshots(name, url, sel string) {
	b.t.Helper()
	dir := screenshotDir(b.t)
	for _, v := range viewports {
		opts := []chromedp.EmulateViewportOption{chromedp.EmulatePortrait}
		if v.mobile {
			opts = append(opts, chromedp.EmulateMobile, chromedp.EmulateTouch)
		}
		b.do("emulate "+v.name, chromedp.EmulateViewport(v.width, v.height, opts...))
		// Reloading lets the page lay itself out for the device from the start.
		b.open(url, sel)
		for _, shot := range []struct {
			suffix string
			take   chromedp.Action[[]byte]
		}{{"", chromedp.CaptureScreenshot()}, {"-full", chromedp.FullScreenshot(100)}} {
			ctx, cancel := context.WithTimeout(b.ctx, actionTimeout)
			png, err := chromedp.Run(ctx, shot.take)
			cancel()
			if err != nil {
				b.t.Fatalf("screenshot %s on %s: %v", name, v.name, err)
			}
			path := filepath.Join(dir, fmt.Sprintf("%s-%s%s.png", name, v.name, shot.suffix))
			if err := os.WriteFile(path, png, 0o644); err != nil {
				b.t.Fatal(err)
			}
			b.t.Logf("screenshot: %s", path)
		}
	}
	b.do("back to the desktop viewport", chromedp.EmulateViewport(1280, 800))
}
