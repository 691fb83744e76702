package demo

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"
)

func TestPrepareSeed(t *testing.T) {
	raw, err := os.ReadFile("../../examples/01-progressive-nginx.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for pause, want := range map[string]string{"30s": "pause: {duration: 30s}", "": "pause: {}", "2m": "pause: {duration: 2m}"} {
		got := PrepareSeed(raw, pause, "http://127.0.0.1:9090")
		if n := bytes.Count(got, []byte(want)); n != 4 {
			t.Errorf("pause %q: %d of the 4 pauses became %q", pause, n, want)
		}
		if bytes.Contains(got, []byte(SeedPrometheus)) || !bytes.Contains(got, []byte("address: http://127.0.0.1:9090")) {
			t.Errorf("pause %q: the Prometheus address was not replaced", pause)
		}
	}
}

func TestInOrder(t *testing.T) {
	for _, tc := range []struct {
		seen, want []string
		ok         bool
	}{
		{[]string{"none", "20", "40", "60", "80", "100", "0"}, []string{"20", "40", "60", "80"}, true},
		{[]string{"20", "60", "40"}, []string{"20", "40", "60"}, false},
		{[]string{"20"}, []string{"20", "40"}, false},
	} {
		if got := inOrder(tc.seen, tc.want...); got != tc.ok {
			t.Errorf("inOrder(%v, %v) = %t", tc.seen, tc.want, got)
		}
	}
}

func TestSideBySide(t *testing.T) {
	got := sideBySide([]string{"\x1b[32m✔\x1b[0m ab", "abcdef"}, []string{"│ x", "│ y", "│ z"}, 2)
	want := "\x1b[32m✔\x1b[0m ab    │ x\nabcdef  │ y\n        │ z\n"
	if got != want {
		t.Errorf("got\n%q\nwant\n%q", got, want)
	}
}

func TestSparkline(t *testing.T) {
	if got := sparkline([]float64{0, 0.5, 1, 2, -1}); got != "▁▄██▁" {
		t.Errorf("sparkline = %q", got)
	}
}

func TestSummarySaysWhatWentWrong(t *testing.T) {
	ok := Result{Path: "success", Image: GreenImage, Phase: "Healthy", StableImage: GreenImage, Duration: 2 * time.Minute,
		Weights: []string{"0", "20", "40", "0"}, Run: RunResult{Name: "r1", Phase: "Successful", Successful: 3, Measurements: []string{"[1]"}}}
	bad := Result{Path: "failure", Image: YellowImage, Phase: "Healthy", StableImage: YellowImage, Problems: []string{"the rollout is Healthy, want Degraded and aborted"}}
	for _, tc := range []struct {
		sum  Summary
		ok   bool
		says []string
	}{
		{Summary{Results: []Result{ok, bad}}, false, []string{"promoted as expected", "NOT as expected", "✖ the rollout is Healthy"}},
		{Summary{Results: []Result{ok}}, false, []string{"promoted as expected"}},
	} {
		var b strings.Builder
		printSummary(&b, tc.sum)
		if tc.sum.OK() != tc.ok {
			t.Errorf("OK() = %t, want %t", tc.sum.OK(), tc.ok)
		}
		for _, s := range tc.says {
			if !strings.Contains(b.String(), s) {
				t.Errorf("summary does not say %q:\n%s", s, b.String())
			}
		}
		if strings.Contains(b.String(), "Both paths ended as they must") {
			t.Errorf("a failed run claims success:\n%s", b.String())
		}
	}
}
