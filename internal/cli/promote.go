package cli

import (
	"github.com/spf13/cobra"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/clientside/patch"
)

func init() { register(newPromoteCommand) }

func newPromoteCommand(o *Options) *cobra.Command {
	var full, skipCurrent, skipAll bool
	cmd := &cobra.Command{
		Use:   "promote ROLLOUT_NAME",
		Short: "Promote a rollout",
		Long: `Promote a rollout paused at a canary step, or a paused blue-green pre-promotion.
To skip analysis, pauses and steps entirely, use '--full' to fully promote the rollout.`,
		Example: `  # Promote a paused rollout
  kubectl argo rollouts promote guestbook

  # Fully promote a rollout to desired version, skipping analysis, pauses, and steps
  kubectl argo rollouts promote guestbook --full`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if skipCurrent && skipAll {
				return patch.ErrBothSkipFlags
			}
			done := "promoted"
			if full {
				done = "fully promoted"
			}
			return sendPatches(cmd.Context(), o, "rollout", done, args, newRollout, func(ro *v1alpha1.Rollout) ([]patch.Patch, error) {
				if skipCurrent || skipAll {
					return patch.SkipSteps(ro, skipAll)
				}
				return patch.Promote(ro, full), nil
			})
		},
	}
	cmd.Flags().BoolVar(&full, "full", false, "Perform a full promotion, skipping analysis, pauses, and steps")
	cmd.Flags().BoolVarP(&skipCurrent, "skip-current-step", "c", false, "Skip currently running canary step")
	cmd.Flags().BoolVarP(&skipAll, "skip-all-steps", "a", false, "Skip remaining steps")
	// Kept so old scripts run; cobra prints the advice when they are used.
	_ = cmd.Flags().MarkDeprecated("skip-current-step", "use without the flag instead ex: promote ROLLOUT_NAME")
	_ = cmd.Flags().MarkShorthandDeprecated("c", "use without the flag instead ex: promote ROLLOUT_NAME")
	_ = cmd.Flags().MarkDeprecated("skip-all-steps", "use --full instead")
	_ = cmd.Flags().MarkShorthandDeprecated("a", "use --full instead")
	return cmd
}
