package plugin

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
)

func TestLogLevels(t *testing.T) {
	for _, c := range []struct {
		name  string
		level hclog.Level
		msg   string
		want  string
	}{
		// go-plugin's own messages.
		{"", hclog.Debug, "starting plugin", "level=DEBUG"},
		{"", hclog.Info, "plugin address", "level=DEBUG"},
		{"", hclog.Warn, "plugin failed to exit gracefully", "level=WARN"},
		{"", hclog.Error, "plugin process exited", "level=ERROR"},
		// The plugin's stderr: JSON lines carry a level, plain ones may say.
		{"metric", hclog.Info, "measured", "level=INFO"},
		{"metric", hclog.Error, "query failed", "level=ERROR"},
		{"metric", hclog.Debug, `time="2026-03-01T12:00:00Z" level=warning msg="slow query"`, "level=WARN"},
		{"metric", hclog.Debug, `time="2026-03-01T12:00:00Z" level=debug msg="config"`, "level=DEBUG"},
		{"metric", hclog.Debug, "2026/03/01 12:00:00 [DEBUG] plugin: plugin server: accept", "level=DEBUG"},
		{"metric", hclog.Debug, "2026/03/01 12:00:00 [ERR] yamux: keepalive failed", "level=ERROR"},
		{"metric", hclog.Debug, "panic: runtime error: index out of range", "level=INFO"},
		{"metric", hclog.Debug, "connected to prometheus", "level=INFO"},
	} {
		var out bytes.Buffer
		log := slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelDebug}))
		l := newLogger(log.With("plugin", "acme/metric"), "metric")
		if c.name != "" {
			l = l.Named(c.name)
		}
		l.Log(c.level, c.msg, "plugin", "/tmp/aviary-plugins-1/acme/metric")
		got := out.String()
		if !strings.Contains(got, c.want) {
			t.Errorf("%q (%s from %q): logged %s, want %s", c.msg, c.level, c.name, got, c.want)
		}
		if fromPlugin := c.name != ""; fromPlugin != strings.Contains(got, "source=plugin") {
			t.Errorf("%q: source=plugin is %v in %s", c.msg, !fromPlugin, got)
		}
		if !strings.Contains(got, "plugin=acme/metric") || !strings.Contains(got, "binary=/tmp/aviary-plugins-1/acme/metric") {
			t.Errorf("%q: the plugin's name and binary are not both kept: %s", c.msg, got)
		}
	}
}
