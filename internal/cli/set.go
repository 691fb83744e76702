package cli

import (
	"fmt"
	"strings"

	"github.com/aviary-rollouts/aviary/internal/clientside/action"
	"github.com/spf13/cobra"
)

func init() { register(newSetCommand) }

func newSetCommand(o *Options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "set COMMAND",
		Short: "Update various values on resources",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "image ROLLOUT_NAME CONTAINER=IMAGE",
		Short: "Update the image of a rollout",
		Long: `Set the image of the rollout's containers (init, regular and ephemeral) named CONTAINER, or of all of them for '*'.
A rollout with a workloadRef has its referenced Deployment, ReplicaSet or PodTemplate updated instead.`,
		Example: `  # Set rollout image
  kubectl argo rollouts set image my-rollout www=image:v2`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			container, image, ok := strings.Cut(args[1], "=")
			if !ok || container == "" || image == "" || strings.Contains(image, "=") {
				return fmt.Errorf("%q is not CONTAINER=IMAGE", args[1])
			}
			c, ns, err := o.clientAndNamespace()
			if err != nil {
				return err
			}
			obj, err := action.SetImage(cmd.Context(), c, ns, args[0], container, image)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(o.Streams.Out, "%s %q image updated\n", strings.ToLower(obj.GetKind()), obj.GetName())
			return err
		},
	})
	return cmd
}
