package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/plan/phase"
)

func init() { register(newStatusCommand) }

// statusPollInterval is how often status re-reads a watched rollout. It
// polls rather than watches so it works through Options.Client alone
// (and its fakes); phases change at the pace of pods becoming ready, so a
// second's delay is not noticed.
var statusPollInterval = time.Second

// errStatusTimeout is status's failure when --timeout passes first; the
// plugin's words, so scripts matching them keep working.
var errStatusTimeout = errors.New("Rollout status watch exceeded timeout") //lint:ignore ST1005 the plugin's wording

func newStatusCommand(o *Options) *cobra.Command {
	var (
		watch   bool
		timeout time.Duration
	)
	cmd := &cobra.Command{
		Use:   "status ROLLOUT_NAME",
		Short: "Show the status of a rollout",
		Long: `Watch a rollout until it is Healthy or Degraded, or the timeout passes. Exits 0 if it is Healthy, non-zero otherwise, so CI pipelines can wait on a rollout.

Each change of phase is printed as "PHASE - MESSAGE". Paused is not an end state: a rollout paused at a step (or by 'pause') is still on its way and
waits for its pause duration or for 'promote', so status prints "Paused - <reason>" and keeps watching; with --timeout it exits non-zero if the
rollout is still Paused then. With --watch=false it prints the phase once and exits non-zero only if the rollout is Degraded.`,
		Example: `  # Watch the rollout until it succeeds
  kubectl argo rollouts status guestbook

  # Show the rollout status
  kubectl argo rollouts status guestbook --watch=false

  # Watch the rollout until it succeeds, fail if it takes more than 60 seconds
  kubectl argo rollouts status --timeout 60s guestbook`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runStatus(ctx, o, args[0], watch, timeout)
		},
	}
	cmd.Flags().BoolVarP(&watch, "watch", "w", true, "Watch the status of the rollout until it's done")
	cmd.Flags().DurationVarP(&timeout, "timeout", "t", 0, "The length of time to watch before giving up. Non-zero values should contain a corresponding time unit (e.g. 1s, 2m, 3h). Zero means wait forever")
	return cmd
}

// runStatus prints the rollout's phase (and each change while watching) and
// fails if it ends Degraded or, while watching, not Healthy.
func runStatus(ctx context.Context, o *Options, name string, watch bool, timeout time.Duration) error {
	_, ro, err := lookupRollout(ctx, o, name)
	if err != nil {
		return err
	}
	p, msg := phase.Observed(ro)
	if !watch {
		line := string(p)
		// The plugin leaves the message out for the end states; for the
		// others it says what the rollout is waiting for.
		if p != v1alpha1.RolloutPhaseHealthy && p != v1alpha1.RolloutPhaseDegraded && msg != "" {
			line += " - " + msg
		}
		if _, err := fmt.Fprintln(o.Streams.Out, line); err != nil {
			return err
		}
		return statusResult(p, msg)
	}
	// The timeout is a timer, not a context deadline: reads near the end
	// would otherwise fail with the client's rate limiter or a cancelled
	// request instead of reporting the timeout.
	var expired <-chan time.Time
	if timeout > 0 {
		timer := time.NewTimer(timeout)
		defer timer.Stop()
		expired = timer.C
	}
	var printed string
	tick := time.NewTicker(statusPollInterval)
	defer tick.Stop()
	for {
		line := string(p)
		if msg != "" {
			line += " - " + msg
		}
		if line != printed {
			if _, err := fmt.Fprintln(o.Streams.Out, line); err != nil {
				return err
			}
			printed = line
		}
		if p == v1alpha1.RolloutPhaseHealthy || p == v1alpha1.RolloutPhaseDegraded {
			return statusResult(p, msg)
		}
		select {
		case <-expired:
			return fmt.Errorf("%w (%s): rollout '%s' is still %s", errStatusTimeout, timeout, name, line)
		case <-ctx.Done():
			return fmt.Errorf("rollout '%s' is still %s: %w", name, line, ctx.Err())
		case <-tick.C:
		}
		next := &v1alpha1.Rollout{}
		c, err := o.Client()
		if err != nil {
			return err
		}
		switch err := c.Get(ctx, client.ObjectKeyFromObject(ro), next); {
		case apierrors.IsNotFound(err):
			return fmt.Errorf("rollout %q was deleted in namespace %q", name, ro.Namespace)
		case err != nil:
			// A blip of the API server must not fail a CI job that is
			// waiting: keep the last phase and read again at the next tick.
			fmt.Fprintf(o.Streams.ErrOut, "warning: read rollout %q: %v\n", name, err)
			continue
		}
		ro = next
		p, msg = phase.Observed(ro)
	}
}

// statusResult is status's verdict on a phase: an error for Degraded.
func statusResult(p v1alpha1.RolloutPhase, msg string) error {
	if p == v1alpha1.RolloutPhaseDegraded {
		return fmt.Errorf("The rollout is in a degraded state with message: %s", msg) //lint:ignore ST1005 the plugin's wording
	}
	return nil
}
