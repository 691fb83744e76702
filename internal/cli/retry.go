package cli

import (
	"github.com/spf13/cobra"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/clientside/patch"
)

func init() { register(newRetryCommand) }

func newRetryCommand(o *Options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "retry <rollout|experiment> RESOURCE_NAME",
		Short: "Retry a rollout or experiment",
		Long:  "Restart an aborted rollout or a failed experiment.",
		Example: `  # Retry an aborted rollout
  kubectl argo rollouts retry rollout guestbook

  # Retry a failed experiment
  kubectl argo rollouts retry experiment my-experiment`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(&cobra.Command{
		Use:     "rollout ROLLOUT_NAME...",
		Aliases: []string{"ro", "rollouts"},
		Short:   "Retry an aborted rollout",
		Long:    "Clear the abort of a rollout: the update starts again from the first step.",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return sendPatches(cmd.Context(), o, "rollout", "retried", args, newRollout, fixed[*v1alpha1.Rollout](patch.RetryRollout()))
		},
	}, &cobra.Command{
		Use:     "experiment EXPERIMENT_NAME...",
		Aliases: []string{"exp", "experiments"},
		Short:   "Retry an experiment",
		Long:    "Retry a failed experiment: its status is cleared and it runs again.",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return sendPatches(cmd.Context(), o, "experiment", "retried", args, newExperiment, fixed[*v1alpha1.Experiment](patch.RetryExperiment()))
		},
	})
	return cmd
}
