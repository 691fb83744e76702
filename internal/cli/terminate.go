package cli

import (
	"github.com/spf13/cobra"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/clientside/patch"
)

func init() { register(newTerminateCommand) }

func newTerminateCommand(o *Options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "terminate <analysisrun|experiment> RESOURCE_NAME",
		Short: "Terminate an AnalysisRun or Experiment",
		Long:  "Terminate an AnalysisRun or Experiment that is in progress.",
		Example: `  # Terminate an AnalysisRun
  kubectl argo rollouts terminate analysisrun guestbook-877894d5b-4-success-rate.1

  # Terminate an experiment
  kubectl argo rollouts terminate experiment my-experiment`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(&cobra.Command{
		Use:     "analysisrun ANALYSISRUN_NAME...",
		Aliases: []string{"ar", "analysisruns"},
		Short:   "Terminate an AnalysisRun",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return sendPatches(cmd.Context(), o, "analysisRun", "terminated", args, newAnalysisRun, fixed[*v1alpha1.AnalysisRun](patch.Terminate()))
		},
	}, &cobra.Command{
		Use:     "experiment EXPERIMENT_NAME...",
		Aliases: []string{"exp", "experiments"},
		Short:   "Terminate an experiment",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			// The plugin prints "retried" here, a slip; "terminated" says
			// what happened.
			return sendPatches(cmd.Context(), o, "experiment", "terminated", args, newExperiment, fixed[*v1alpha1.Experiment](patch.Terminate()))
		},
	})
	return cmd
}
