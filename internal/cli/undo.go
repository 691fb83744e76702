package cli

import (
	"fmt"

	"github.com/aviary-rollouts/aviary/internal/clientside/action"
	"github.com/spf13/cobra"
)

func init() { register(newUndoCommand) }

func newUndoCommand(o *Options) *cobra.Command {
	var toRevision int64
	cmd := &cobra.Command{
		Use:   "undo ROLLOUT_NAME",
		Short: "Undo a rollout",
		Long:  `Roll back to the previous revision, or to --to-revision: the rollout's pod template (or that of its workloadRef target) is replaced with that revision's.`,
		Example: `  # Undo a rollout
  kubectl argo rollouts undo guestbook

  # Undo a rollout to revision 3
  kubectl argo rollouts undo guestbook --to-revision=3`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, ns, err := o.clientAndNamespace()
			if err != nil {
				return err
			}
			msg, err := action.Undo(cmd.Context(), c, ns, args[0], toRevision)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(o.Streams.Out, msg)
			return err
		},
	}
	cmd.Flags().Int64Var(&toRevision, "to-revision", 0, "The revision to rollback to. Default to 0 (last revision).")
	return cmd
}
