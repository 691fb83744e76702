package cli

import (
	"github.com/spf13/cobra"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/clientside/patch"
)

func init() { register(newPauseCommand) }

func newPauseCommand(o *Options) *cobra.Command {
	return &cobra.Command{
		Use:   "pause ROLLOUT_NAME...",
		Short: "Pause a rollout",
		Long:  "Pause a rollout where it stands (spec.paused). Resume it with promote.",
		Example: `  # Pause a rollout
  kubectl argo rollouts pause guestbook`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return sendPatches(cmd.Context(), o, "rollout", "paused", args, newRollout, fixed[*v1alpha1.Rollout](patch.Pause()))
		},
	}
}
