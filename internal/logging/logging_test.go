package logging

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestArgoRecords: each level, in text and JSON, reads as Argo Rollouts'
// controller (logrus) writes it — the level's name, RFC 3339 time, msg,
// and the object under Argo's keys.
func TestArgoRecords(t *testing.T) {
	rfc3339 := `\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)`
	for _, c := range []struct {
		format string
		log    func(*slog.Logger)
		want   string // a regular expression for the line
	}{
		{"text", func(l *slog.Logger) {
			l.Info("Rollout step 1/8 completed (setWeight: 20)", KeyNamespace, "shop", KeyRollout, "web", KeyEventReason, "RolloutStepCompleted")
		}, `^time=` + rfc3339 + ` level=info msg="Rollout step 1/8 completed \(setWeight: 20\)" namespace=shop rollout=web event_reason=RolloutStepCompleted$`},
		{"text", func(l *slog.Logger) { l.Warn("Rollout aborted", KeyRollout, "web") },
			`^time=` + rfc3339 + ` level=warning msg="Rollout aborted" rollout=web$`},
		{"text", func(l *slog.Logger) { l.Error("write status", "error", "conflict") },
			`^time=` + rfc3339 + ` level=error msg="write status" error=conflict$`},
		{"text", func(l *slog.Logger) { l.Debug("status write") },
			`^time=` + rfc3339 + ` level=debug msg="status write"$`},
		// client-go's verbose lines (klog V(5)) are below debug.
		{"text", func(l *slog.Logger) { l.Log(context.Background(), slog.LevelDebug-1, "GET /api") }, `^time=` + rfc3339 + ` level=trace msg="GET /api"$`},
		{"text", func(l *slog.Logger) { l.WithGroup("g").Info("m", "level", 3) }, `^time=` + rfc3339 + ` level=info msg=m g.level=3$`},
		{"json", func(l *slog.Logger) {
			l.Info("Rollout paused", KeyNamespace, "shop", KeyRollout, "web")
		}, `^\{"time":"` + rfc3339 + `","level":"info","msg":"Rollout paused","namespace":"shop","rollout":"web"\}$`},
		{"json", func(l *slog.Logger) { l.Warn("Analysis Completed. Result: Failed", KeyAnalysisRun, "web-1") },
			`^\{"time":"` + rfc3339 + `","level":"warning","msg":"Analysis Completed. Result: Failed","analysisrun":"web-1"\}$`},
	} {
		var buf bytes.Buffer
		l, err := New(&buf, "debug", c.format)
		if err != nil {
			t.Fatal(err)
		}
		// Trace lines pass only through a handler that lets them (the klog
		// bridge); lower the level for that case.
		if strings.Contains(c.want, "trace") {
			l = slog.New(lowered{l.Handler()})
		}
		c.log(l)
		line := strings.TrimSuffix(buf.String(), "\n")
		if !regexp.MustCompile(c.want).MatchString(line) {
			t.Errorf("%s: got\n%s\nwant to match\n%s", c.format, line, c.want)
		}
		if c.format == "json" {
			var m map[string]any
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				t.Errorf("not one JSON object per line: %q: %v", line, err)
			} else if _, err := time.Parse(time.RFC3339, m["time"].(string)); err != nil {
				t.Errorf("time %v is not RFC 3339: %v", m["time"], err)
			}
		}
	}
}

type lowered struct{ slog.Handler }

func (lowered) Enabled(_ context.Context, _ slog.Level) bool { return true }

func TestLevelsAndFormats(t *testing.T) {
	for _, c := range []struct {
		level  string
		shown  []string // of debug, info, warning, error
		hidden []string
	}{
		{"debug", []string{"debug", "info", "warning", "error"}, nil},
		{"", []string{"info", "warning", "error"}, []string{"debug"}},
		{"info", []string{"info", "warning", "error"}, []string{"debug"}},
		{"warn", []string{"warning", "error"}, []string{"debug", "info"}},
		{"WARNING", []string{"warning", "error"}, []string{"debug", "info"}},
		{"error", []string{"error"}, []string{"debug", "info", "warning"}},
	} {
		var buf bytes.Buffer
		l, err := New(&buf, c.level, "text")
		if err != nil {
			t.Fatalf("--loglevel %q: %v", c.level, err)
		}
		l.Debug("m")
		l.Info("m")
		l.Warn("m")
		l.Error("m")
		out := buf.String()
		for _, s := range c.shown {
			if !strings.Contains(out, "level="+s+" ") {
				t.Errorf("--loglevel %q hides %s:\n%s", c.level, s, out)
			}
		}
		for _, s := range c.hidden {
			if strings.Contains(out, "level="+s+" ") {
				t.Errorf("--loglevel %q shows %s:\n%s", c.level, s, out)
			}
		}
	}
	var buf bytes.Buffer
	for _, bad := range [][2]string{{"loud", "text"}, {"info", "xml"}} {
		if _, err := New(&buf, bad[0], bad[1]); err == nil {
			t.Errorf("New(%q, %q) must fail", bad[0], bad[1])
		}
	}
}
