package cli

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/aviary-rollouts/aviary/internal/cli/lint"
)

func init() { register(newLintCommand) }

func newLintCommand(o *Options) *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "lint",
		Short: "Lint and validate a Rollout",
		Long: "This command lints and validates a new Rollout resource from a file.\n\n" +
			"It runs the controller's own validation offline and checks the Services, Ingresses, VirtualServices,\n" +
			"TraefikServices, HTTPRoutes and AnalysisTemplates the Rollout names against those found in the same file.",
		Example: "  # Lint a rollout\n  kubectl argo rollouts lint -f my-rollout.yaml",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if file == "" {
				return errors.New("required flag -f/--filename not set: name the file to lint")
			}
			data, err := os.ReadFile(file)
			if err != nil {
				return fmt.Errorf("read %s: %w", file, err)
			}
			findings := lint.Check(data)
			if len(findings) == 0 {
				// As Argo Rollouts' lint: a file that passes prints nothing.
				return nil
			}
			// Every finding on stdout, then the first as the error (which
			// main prints as "Error: ..." and exits 1), as Argo's lint does.
			for _, f := range findings {
				if _, err := fmt.Fprintln(o.Streams.Out, f); err != nil {
					return fmt.Errorf("write findings: %w", err)
				}
			}
			return errors.New(findings[0].String())
		},
	}
	cmd.Flags().StringVarP(&file, "filename", "f", "", "File to lint")
	return cmd
}
