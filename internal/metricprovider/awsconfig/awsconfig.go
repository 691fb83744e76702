// Package awsconfig loads the AWS SDK's configuration for the providers
// that call AWS (CloudWatch, SigV4 for Amazon Managed Prometheus) with the
// SDK's own messages sent to the controller's logger. By default the SDK
// prints them to stderr as plain text ("WARN falling back to IMDSv1"),
// which breaks --logformat json and skips --loglevel.
package awsconfig

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/smithy-go/logging"
)

// Load is config.LoadDefaultConfig with the SDK logging through
// slog.Default (the controller's logger once main has set it).
func Load(ctx context.Context, opts ...func(*config.LoadOptions) error) (aws.Config, error) {
	opts = append([]func(*config.LoadOptions) error{config.WithLogger(sdkLogger{})}, opts...)
	return config.LoadDefaultConfig(ctx, opts...)
}

// sdkLogger forwards the SDK's classified messages to slog. It holds no
// logger of its own so that a logger set after the client was made is used.
type sdkLogger struct{}

func (sdkLogger) Logf(c logging.Classification, format string, v ...any) {
	level := slog.LevelDebug
	if c == logging.Warn {
		level = slog.LevelWarn
	}
	slog.Default().Log(context.Background(), level, fmt.Sprintf(format, v...), "component", "aws-sdk")
}
