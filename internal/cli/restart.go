package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/clientside/patch"
)

func init() { register(newRestartCommand) }

// restartClock is the clock of restart, replaced in tests.
var restartClock = time.Now

func newRestartCommand(o *Options) *cobra.Command {
	var in string
	cmd := &cobra.Command{
		Use:   "restart ROLLOUT_NAME",
		Short: "Restart the pods of a rollout",
		Long:  "Replace every pod of a rollout created before now (or now plus --in), a few at a time (spec.restartAt).",
		Example: `  # Restart the pods of a rollout now
  kubectl argo rollouts restart guestbook

  # Restart the pods of a rollout in ten seconds
  kubectl argo rollouts restart guestbook --in 10s`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			at, shown := restartClock(), "0s"
			if in != "" {
				d, err := v1alpha1.DurationString(in).Duration()
				if err != nil {
					return fmt.Errorf("--in %q: %w (use e.g. 30s, 5m, 1h)", in, err)
				}
				at, shown = at.Add(d), in
			}
			return sendPatches(cmd.Context(), o, "rollout", "restarts in "+shown, args, newRollout, fixed[*v1alpha1.Rollout](patch.Restart(at)))
		},
	}
	cmd.Flags().StringVarP(&in, "in", "i", "", "Amount of time before a restart. (e.g. 30s, 5m, 1h)")
	return cmd
}
