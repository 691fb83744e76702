// Command kubectl-argo-rollouts is the `kubectl argo rollouts` plugin for
// Aviary: the commands of the Argo Rollouts plugin, against the caller's
// kubeconfig.
package main

import (
	"fmt"
	"os"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/aviary-rollouts/aviary/internal/cli"
)

func main() {
	streams := genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
	if err := cli.NewRootCommand(streams).Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
}
