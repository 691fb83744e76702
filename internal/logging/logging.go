// Package logging builds the slog logger every Aviary binary uses and bridges
// it to logr for controller-runtime and klog. Its records read as Argo
// Rollouts' controller (logrus) writes them, so log queries and parsers
// keep working: the level is spelled "debug", "info", "warning", "error"
// (text `level=info`, JSON "level":"info"), the time is RFC 3339 to the
// second, and objects are named by Argo's keys (KeyNamespace, KeyRollout…).
package logging

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/go-logr/logr"
)

// The keys Argo Rollouts' controller names an object and an event under.
const (
	KeyNamespace   = "namespace"
	KeyRollout     = "rollout"
	KeyAnalysisRun = "analysisrun"
	KeyExperiment  = "experiment"
	// KeyEventReason is an Event's reason, on the record logged for it.
	KeyEventReason = "event_reason"
)

// levels are the --loglevel values and what they keep (manager.Options
// settles logrus's trace, fatal and panic on these first).
var levels = map[string]slog.Level{
	"debug": slog.LevelDebug, "": slog.LevelInfo, "info": slog.LevelInfo,
	"warn": slog.LevelWarn, "warning": slog.LevelWarn, "error": slog.LevelError,
}

// New returns a slog.Logger writing text or JSON at the given level. Level
// names are Argo Rollouts' (`debug`, `info`, `warn`/`warning`, `error`).
func New(w io.Writer, level, format string) (*slog.Logger, error) {
	lvl, ok := levels[strings.ToLower(level)]
	if !ok {
		return nil, fmt.Errorf("unknown --loglevel %q: use debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lvl, ReplaceAttr: argoAttr}
	switch strings.ToLower(format) {
	case "", "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	default:
		return nil, fmt.Errorf("unknown --logformat %q: use text or json", format)
	}
}

// argoAttr writes a record's level and time as logrus does.
func argoAttr(groups []string, a slog.Attr) slog.Attr {
	if len(groups) > 0 {
		return a
	}
	switch a.Key {
	case slog.LevelKey:
		if l, ok := a.Value.Any().(slog.Level); ok {
			a.Value = slog.StringValue(LevelName(l))
		}
	case slog.TimeKey:
		if t, ok := a.Value.Any().(time.Time); ok {
			a.Value = slog.StringValue(t.Format(time.RFC3339))
		}
	}
	return a
}

// LevelName is logrus's name for the level: the name of the highest level
// at or below l; below debug (client-go's verbose klog lines) is trace.
func LevelName(l slog.Level) string {
	switch {
	case l >= slog.LevelError:
		return "error"
	case l >= slog.LevelWarn:
		return "warning"
	case l >= slog.LevelInfo:
		return "info"
	case l >= slog.LevelDebug:
		return "debug"
	}
	return "trace"
}

// Logr adapts a slog.Logger for libraries that take a logr.Logger.
func Logr(l *slog.Logger) logr.Logger { return logr.FromSlogHandler(l.Handler()) }
