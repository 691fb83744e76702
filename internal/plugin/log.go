package plugin

import (
	"context"
	"io"
	"log/slog"
	"strings"

	"github.com/hashicorp/go-hclog"
)

// newLogger is the hclog.Logger go-plugin logs through, sent on to log.
// go-plugin names the logger of a plugin's own output after its binary,
// which says where each line came from.
func newLogger(log *slog.Logger, binary string) hclog.Logger {
	l := hclog.NewInterceptLogger(&hclog.LoggerOptions{Output: io.Discard, Level: hclog.Trace})
	l.RegisterSink(sink{log: log, binary: binary})
	return l
}

type sink struct {
	log    *slog.Logger
	binary string
}

// Accept logs one line. go-plugin's own messages keep their level, Debug at
// most; a plugin's output is Info unless it says Warn or Error, since a
// plugin's logging is what an operator reads when a measurement fails.
func (s sink) Accept(name string, level hclog.Level, msg string, args ...any) {
	fromPlugin := name == s.binary || strings.HasSuffix(name, "."+s.binary)
	var lvl slog.Level
	switch {
	case level >= hclog.Error:
		lvl = slog.LevelError
	case level == hclog.Warn:
		lvl = slog.LevelWarn
	case fromPlugin:
		lvl = slog.LevelInfo
	default:
		lvl = slog.LevelDebug
	}
	if fromPlugin {
		args = append(args, "source", "plugin")
	}
	s.log.Log(context.Background(), lvl, msg, args...)
}
