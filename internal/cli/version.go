package cli

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/aviary-rollouts/aviary/internal/version"
)

func init() { register(newVersionCommand) }

func newVersionCommand(o *Options) *cobra.Command {
	var short bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print version, commit, build date, Go version and platform",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			info := version.Get()
			out := info.Long("kubectl-argo-rollouts")
			if short {
				out = info.Short("kubectl-argo-rollouts")
			}
			_, err := io.WriteString(o.Streams.Out, out)
			return err
		},
	}
	cmd.Flags().BoolVar(&short, "short", false, "print just the version number")
	return cmd
}
