package plugin

import (
	"context"
	"io"
	"log/slog"
	"regexp"
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

// Accept logs one line. go-plugin's own messages are Debug unless they
// warn or fail. A plugin's output keeps the level it states (hclog's JSON,
// logrus' level=, a [DEBUG]-style prefix) and is Info otherwise: a
// plugin's logging is what an operator reads when a measurement fails.
func (s sink) Accept(name string, level hclog.Level, msg string, args ...any) {
	fromPlugin := name == s.binary || strings.HasSuffix(name, "."+s.binary)
	lvl := slog.LevelDebug
	switch {
	case level >= hclog.Error:
		lvl = slog.LevelError
	case level == hclog.Warn:
		lvl = slog.LevelWarn
	case fromPlugin && level == hclog.Debug:
		// go-plugin's level for a line that is not JSON: the line may say.
		lvl = stated(msg)
	case fromPlugin:
		lvl = slog.LevelInfo
	}
	// go-plugin's key for the binary's path; the host's logger already
	// carries "plugin" as the plugin's name.
	for i := 0; i+1 < len(args); i += 2 {
		if args[i] == "plugin" {
			args[i] = "binary"
		}
	}
	if fromPlugin {
		args = append(args, "source", "plugin")
	}
	s.log.Log(context.Background(), lvl, msg, args...)
}

// statedRE finds the level a plain log line states: logrus' level=… or a
// [LEVEL] prefix (Go's log package as hclog and go-plugin write it).
var statedRE = regexp.MustCompile(`(?i)(?:\blevel=|\[)(trace|debug|info|warn|warning|err|error|fatal|panic)\b`)

func stated(line string) slog.Level {
	m := statedRE.FindStringSubmatch(line)
	if m == nil {
		return slog.LevelInfo
	}
	switch strings.ToLower(m[1]) {
	case "trace", "debug":
		return slog.LevelDebug
	case "warn", "warning":
		return slog.LevelWarn
	case "err", "error", "fatal", "panic":
		return slog.LevelError
	}
	return slog.LevelInfo
}
