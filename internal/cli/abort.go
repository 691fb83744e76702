package cli

import (
	"github.com/spf13/cobra"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/clientside/patch"
)

func init() { register(newAbortCommand) }

func newAbortCommand(o *Options) *cobra.Command {
	return &cobra.Command{
		Use:   "abort ROLLOUT_NAME...",
		Short: "Abort a rollout",
		Long: `Stop progressing the current rollout and revert all steps: the stable ReplicaSet takes all the traffic again.

Note spec.template still holds the new version: the rollout stays Degraded until the template is reverted (undo) or the update is retried (retry rollout).`,
		Example: `  # Abort a rollout
  kubectl argo rollouts abort guestbook`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return sendPatches(cmd.Context(), o, "rollout", "aborted", args, newRollout, fixed[*v1alpha1.Rollout](patch.Abort()))
		},
	}
}
