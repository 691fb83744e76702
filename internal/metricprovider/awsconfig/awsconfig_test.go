package awsconfig

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/smithy-go/logging"
)

func TestSDKMessagesGoToSlog(t *testing.T) {
	var buf bytes.Buffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo})))
	t.Cleanup(func() { slog.SetDefault(prev) })

	cfg, err := Load(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	cfg.Logger.Logf(logging.Warn, "falling back to %s", "IMDSv1")
	cfg.Logger.Logf(logging.Debug, "request sent")
	out := buf.String()
	if !strings.Contains(out, `"level":"WARN","msg":"falling back to IMDSv1","component":"aws-sdk"`) {
		t.Errorf("the warning is not a JSON record of the controller's logger: %q", out)
	}
	if strings.Contains(out, "request sent") {
		t.Errorf("a debug message was logged at info level: %q", out)
	}
}
