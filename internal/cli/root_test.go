package cli

import (
	"bytes"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

func run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	root := NewRootCommand(genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &out})
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), err
}

func TestVersion(t *testing.T) {
	out, err := run(t, "version", "--short")
	if err != nil || !strings.HasPrefix(out, "kubectl-argo-rollouts: ") {
		t.Fatalf("got %q, %v", out, err)
	}
}

func TestNoClusterIsOneLine(t *testing.T) {
	flags := genericclioptions.NewConfigFlags(true)
	path := "/nonexistent/kubeconfig"
	flags.KubeConfig = &path
	o := &Options{Flags: flags}
	_, err := o.Client()
	if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "kubeconfig") {
		t.Fatalf("got %v", err)
	}
}
