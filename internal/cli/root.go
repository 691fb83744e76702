// Package cli is the `kubectl argo rollouts` command line (the
// kubectl-argo-rollouts binary): the commands and flags of the Argo Rollouts
// plugin, sending the same patches, against the caller's kubeconfig.
package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/internal/manager"
	"github.com/aviary-rollouts/aviary/internal/tolerant"
)

// Options are what every command shares: the streams and the kubeconfig
// flags, and the clients built from them on first use.
type Options struct {
	Streams genericiooptions.IOStreams
	Flags   *genericclioptions.ConfigFlags
	// KlogLevel and LogLevel are the plugin's -v/--kloglevel and --loglevel.
	KlogLevel int
	LogLevel  string

	client client.Client
}

// NewRootCommand is `kubectl argo rollouts` with every subcommand.
func NewRootCommand(streams genericiooptions.IOStreams) *cobra.Command {
	o := &Options{Streams: streams, Flags: genericclioptions.NewConfigFlags(true)}
	root := &cobra.Command{
		Use:           "kubectl-argo-rollouts COMMAND",
		Short:         "Manage argo rollouts",
		Long:          "This command consists of multiple subcommands which can be used to manage Argo Rollouts.",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(streams.In)
	root.SetOut(streams.Out)
	root.SetErr(streams.ErrOut)
	o.Flags.AddFlags(root.PersistentFlags())
	root.PersistentFlags().IntVarP(&o.KlogLevel, "kloglevel", "v", 0, "Log level for kubernetes client library")
	root.PersistentFlags().StringVar(&o.LogLevel, "loglevel", "info", "Log level for kubectl argo rollouts")
	for _, newCommand := range commands {
		root.AddCommand(newCommand(o))
	}
	return root
}

// commands are the top-level subcommands; each command's file registers
// its constructor in an init function, so commands are added without
// editing this file.
var commands []func(*Options) *cobra.Command

func register(newCommand func(*Options) *cobra.Command) { commands = append(commands, newCommand) }

// Namespace is the namespace the command acts in: -n, else the
// kubeconfig context's.
func (o *Options) Namespace() (string, error) {
	ns, _, err := o.Flags.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return "", kubeconfigError(err)
	}
	return ns, nil
}

// RESTConfig is the client configuration from the kubeconfig flags.
func (o *Options) RESTConfig() (*rest.Config, error) {
	cfg, err := o.Flags.ToRESTConfig()
	if err != nil {
		return nil, kubeconfigError(err)
	}
	return cfg, nil
}

// Client is a client for Aviary's and Kubernetes' kinds.
func (o *Options) Client() (client.Client, error) {
	if o.client != nil {
		return o.client, nil
	}
	cfg, err := o.RESTConfig()
	if err != nil {
		return nil, err
	}
	c, err := o.clientFor(cfg)
	if err != nil {
		return nil, err
	}
	o.client = c
	return c, nil
}

// clientFor is a client for Aviary's and Kubernetes' kinds on cfg.
func (o *Options) clientFor(cfg *rest.Config) (client.Client, error) {
	scheme, err := manager.Scheme()
	if err != nil {
		return nil, err
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, fmt.Errorf("connect to the cluster: %w", err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to the cluster: %w", err)
	}
	// One malformed object (a bad quantity the CRD schema lets through)
	// must not hide every other one: it is left out, with a warning.
	return &tolerant.Client{Client: c, Dynamic: dyn, Skipped: func(kind, ns, name string, err *tolerant.DecodeError) {
		fmt.Fprintf(o.Streams.ErrOut, "warning: %s %s/%s cannot be read and is left out: %v\n", kind, ns, name, err)
	}}, nil
}

// SetClient replaces the client, for tests.
func (o *Options) SetClient(c client.Client) { o.client = c }

// kubeconfigError turns a kubeconfig problem into one line a person can
// act on.
func kubeconfigError(err error) error {
	if clientcmd.IsEmptyConfig(err) || errors.Is(err, clientcmd.ErrEmptyConfig) {
		return errors.New("no cluster configured: set KUBECONFIG or --kubeconfig to a kubeconfig file, or use --server")
	}
	return fmt.Errorf("kubeconfig: %w", err)
}
