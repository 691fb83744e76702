// Command kubectl-argo-rollouts is the `kubectl argo rollouts` plugin for
// Aviary: the commands of the Argo Rollouts plugin, against the caller's
// kubeconfig.
package main

import (
	"errors"
	"fmt"
	"os"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/aviary-rollouts/aviary/internal/cli"
)

func main() {
	streams := genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
	err := cli.NewRootCommand(streams).Execute()
	if err == nil {
		return
	}
	// A command with its own exit status (analysis test's verdict) may
	// have told everything already.
	code := 1
	var exit *cli.ExitError
	if errors.As(err, &exit) {
		code = exit.Code
		err = exit.Err
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
	}
	os.Exit(code)
}
