package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/argoproj/notifications-engine/pkg/api"
	notificationcmd "github.com/argoproj/notifications-engine/pkg/cmd"
	"github.com/spf13/cobra"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/notify"
)

func init() { register(newNotificationsCommand) }

// newNotificationsCommand is `notifications template get|notify` and
// `trigger get|run`: the notifications engine's own commands, as the Argo
// Rollouts plugin has them, reading the controller's ConfigMap and Secret
// (or files given with --config-map and --secret) and giving templates the
// variables the controller gives them (internal/notify.TemplateVars).
//
// The engine's command defines its own kubeconfig flags, with the same
// names as the plugin's; cobra lets a command's flags shadow its parents',
// so --kubeconfig, -n, --context and the rest reach the engine, which builds
// its clients from them. The AnalysisRuns templates see are listed with the
// engine's configuration too, so they come from the same cluster.
func newNotificationsCommand(o *Options) *cobra.Command {
	runs := &runLister{o: o}
	settings := api.Settings{
		ConfigMapName: notify.ConfigMapName,
		SecretName:    notify.SecretName,
		InitGetVars:   notify.TemplateVars(runs.list),
	}
	cmd := notificationcmd.NewToolsCommand("notifications", "kubectl argo rollouts notifications", v1alpha1.RolloutGVR, settings,
		func(kube clientcmd.ClientConfig) { runs.kube = kube })
	// The plugin's flags the engine lacks: refused where ignoring them
	// would act as someone else than asked.
	connect := cmd.PersistentPreRun
	cmd.PersistentPreRun = nil
	cmd.PersistentPreRunE = func(c *cobra.Command, args []string) error {
		if f := c.Flags().Lookup("as-user-extra"); f != nil && f.Changed {
			return errors.New("notifications: --as-user-extra is not supported (the notifications engine's client has no impersonation extras); leave it out, or use --as and --as-group")
		}
		connect(c, args)
		return nil
	}
	return cmd
}

// runListTimeout bounds listing a rollout's AnalysisRuns, so an unreachable
// cluster delays rendering a template from files by no more than this.
const runListTimeout = 20 * time.Second

// runLister lists a rollout's AnalysisRuns for its templates through the
// engine's kubeconfig. A failure is a warning: the template renders
// without analysisRuns, as the controller's would.
type runLister struct {
	o      *Options
	kube   clientcmd.ClientConfig
	client client.Client
}

func (r *runLister) list(namespace, podHash string) ([]v1alpha1.AnalysisRun, error) {
	if podHash == "" {
		// No run is labelled with an empty hash: nothing to ask.
		return nil, nil
	}
	runs, err := r.listRuns(namespace, podHash)
	if err != nil {
		fmt.Fprintf(r.o.Streams.ErrOut, "warning: templates get no analysisRuns: %v\n", err)
	}
	return runs, err
}

func (r *runLister) listRuns(namespace, podHash string) ([]v1alpha1.AnalysisRun, error) {
	if r.kube == nil {
		return nil, fmt.Errorf("no cluster configured")
	}
	if namespace == "" {
		// A rollout read from a file without a namespace: -n, or the
		// context's.
		ns, _, err := r.kube.Namespace()
		if err != nil {
			return nil, kubeconfigError(err)
		}
		namespace = ns
	}
	if r.client == nil {
		cfg, err := r.kube.ClientConfig()
		if err != nil {
			return nil, kubeconfigError(err)
		}
		if r.client, err = r.o.clientFor(cfg); err != nil {
			return nil, err
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), runListTimeout)
	defer cancel()
	var list v1alpha1.AnalysisRunList
	if err := r.client.List(ctx, &list, client.InNamespace(namespace),
		client.MatchingLabels{v1alpha1.DefaultRolloutUniqueLabelKey: podHash}); err != nil {
		return nil, fmt.Errorf("list the AnalysisRuns labelled %s=%s in namespace %s: %w", v1alpha1.DefaultRolloutUniqueLabelKey, podHash, namespace, err)
	}
	return list.Items, nil
}
