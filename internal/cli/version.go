package cli

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/aviary-rollouts/aviary/internal/version"
)

func init() { register(newVersionCommand) }

func newVersionCommand(o *Options) *cobra.Command {
	var short bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if short {
				_, err := fmt.Fprintf(o.Streams.Out, "kubectl-argo-rollouts: %s\n", version.String())
				return err
			}
			_, err := fmt.Fprintf(o.Streams.Out, "kubectl-argo-rollouts: %s\n  GoVersion: %s\n  Compiler: %s\n  Platform: %s/%s\n",
				version.String(), runtime.Version(), runtime.Compiler, runtime.GOOS, runtime.GOARCH)
			return err
		},
	}
	cmd.Flags().BoolVar(&short, "short", false, "print just the version number")
	return cmd
}
