// Package logging builds the slog logger every Aviary binary uses and bridges
// it to logr for controller-runtime and klog.
package logging

import (
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/go-logr/logr"
)

// New returns a slog.Logger writing text or JSON at the given level. Level
// names are Argo Rollouts' (`debug`, `info`, `warn`/`warning`, `error`).
func New(w io.Writer, level, format string) (*slog.Logger, error) {
	var lvl slog.Level
	switch strings.ToLower(level) {
	case "debug":
		lvl = slog.LevelDebug
	case "", "info":
		lvl = slog.LevelInfo
	case "warn", "warning":
		lvl = slog.LevelWarn
	case "error":
		lvl = slog.LevelError
	default:
		return nil, fmt.Errorf("unknown --loglevel %q: use debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch strings.ToLower(format) {
	case "", "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	default:
		return nil, fmt.Errorf("unknown --logformat %q: use text or json", format)
	}
}

// Logr adapts a slog.Logger for libraries that take a logr.Logger.
func Logr(l *slog.Logger) logr.Logger { return logr.FromSlogHandler(l.Handler()) }
