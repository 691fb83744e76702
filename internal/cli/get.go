package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/clientside/tree"
	"github.com/aviary-rollouts/aviary/internal/manager"
)

func init() { register(newGetCommand) }

const getIconsHelp = `It returns a bunch of metadata on a resource and a tree view of the child resources created by the parent.

Tree view icons

| Icon | Kind |
|:----:|:-----------:|
| ⟳ | Rollout |
| Σ | Experiment |
| α | AnalysisRun |
| # | Revision |
| ⧉ | ReplicaSet |
| □ | Pod |
| ⊞ | Job |
| ⚖ | Judgement (Aviary: a canary judge metric's outcome and score) |
| ≶ | Verdict (Aviary: one compared metric's class, medians, effect, p-value, samples) |`

func newGetCommand(o *Options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "get <rollout|experiment> RESOURCE_NAME",
		Short: "Get details about rollouts and experiments",
		Long:  "This command consists of multiple subcommands which can be used to get extended information about a rollout or experiment.",
		Example: `  # Get a rollout
  kubectl argo rollouts get rollout guestbook

  # Watch a rollouts progress
  kubectl argo rollouts get rollout guestbook -w

  # Get an experiment
  kubectl argo rollouts get experiment my-experiment`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newGetRolloutCommand(o), newGetExperimentCommand(o))
	return cmd
}

// getFlags are the flags both get subcommands share.
type getFlags struct {
	watch          bool
	noColor        bool
	timeoutSeconds int
	output         string
}

func (f *getFlags) add(cmd *cobra.Command, withTimeout bool) {
	cmd.Flags().BoolVarP(&f.watch, "watch", "w", false, "Watch live updates to the rollout")
	cmd.Flags().BoolVar(&f.noColor, "no-color", false, "Do not colorize output")
	if withTimeout {
		cmd.Flags().IntVar(&f.timeoutSeconds, "timeout-seconds", 0, "Timeout after specified seconds")
	}
	cmd.Flags().StringVarP(&f.output, "output", "o", "", "Output format for scripts: json or yaml (instead of the tree)")
}

func (f *getFlags) validate() error {
	switch f.output {
	case "", "json", "yaml":
	default:
		return fmt.Errorf("--output must be json or yaml, not %q", f.output)
	}
	if f.output != "" && f.watch {
		return errors.New("--output cannot be combined with --watch")
	}
	return nil
}

func newGetRolloutCommand(o *Options) *cobra.Command {
	var f getFlags
	cmd := &cobra.Command{
		Use:     "rollout ROLLOUT_NAME",
		Aliases: []string{"ro", "rollouts"},
		Short:   "Get details about a rollout",
		Long:    "Get details about and visual representation of a rollout. " + getIconsHelp,
		Example: `  # Get a rollout
  kubectl argo rollouts get rollout guestbook

  # Watch progress of a rollout
  kubectl argo rollouts get rollout guestbook -w

  # Watch the rollout, fail if it takes more than 60 seconds
  kubectl argo rollouts get rollout guestbook -w --timeout-seconds 60`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.validate(); err != nil {
				return err
			}
			gather := func(ctx context.Context, r client.Reader, ns string) (any, error) {
				return tree.GatherRollout(ctx, r, ns, args[0])
			}
			render := func(p tree.Printer, w io.Writer, v any) error { return p.Rollout(w, v.(*tree.Rollout)) }
			return o.runGet(contextOf(cmd), f, gather, render)
		},
	}
	f.add(cmd, true)
	cmd.ValidArgsFunction = o.completeNames(&v1alpha1.RolloutList{})
	return cmd
}

func newGetExperimentCommand(o *Options) *cobra.Command {
	var f getFlags
	cmd := &cobra.Command{
		Use:     "experiment EXPERIMENT_NAME",
		Aliases: []string{"exp", "experiments"},
		Short:   "Get details about an Experiment",
		Long:    "Get details about and visual representation of a experiment. " + getIconsHelp,
		Example: `  # Get an experiment
  kubectl argo rollouts get experiment my-experiment

  # Watch experiment progress
  kubectl argo rollouts get experiment my-experiment -w`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.validate(); err != nil {
				return err
			}
			gather := func(ctx context.Context, r client.Reader, ns string) (any, error) {
				return tree.GatherExperiment(ctx, r, ns, args[0])
			}
			render := func(p tree.Printer, w io.Writer, v any) error { return p.Experiment(w, v.(*tree.Experiment)) }
			return o.runGet(contextOf(cmd), f, gather, render)
		},
	}
	f.add(cmd, false)
	cmd.ValidArgsFunction = o.completeNames(&v1alpha1.ExperimentList{})
	return cmd
}

// completeNames completes the one NAME argument with the names of the
// namespace's objects of list's kind; a failure just offers nothing.
func (o *Options) completeNames(list client.ObjectList) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, prefix string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		ns, err := o.Namespace()
		if err != nil {
			return nil, cobra.ShellCompDirectiveError
		}
		c, err := o.Client()
		if err != nil {
			return nil, cobra.ShellCompDirectiveError
		}
		if err := c.List(contextOf(cmd), list, client.InNamespace(ns)); err != nil {
			return nil, cobra.ShellCompDirectiveError
		}
		items, err := meta.ExtractList(list)
		if err != nil {
			return nil, cobra.ShellCompDirectiveError
		}
		var names []cobra.Completion
		for _, item := range items {
			if obj, err := meta.Accessor(item); err == nil && strings.HasPrefix(obj.GetName(), prefix) {
				names = append(names, obj.GetName())
			}
		}
		return names, cobra.ShellCompDirectiveNoFileComp
	}
}

type (
	gatherFunc func(ctx context.Context, r client.Reader, ns string) (any, error)
	renderFunc func(p tree.Printer, w io.Writer, view any) error
)

// runGet prints the view once, or with --watch redraws it on every change
// until Ctrl-C or --timeout-seconds.
func (o *Options) runGet(ctx context.Context, f getFlags, gather gatherFunc, render renderFunc) error {
	ns, err := o.Namespace()
	if err != nil {
		return err
	}
	c, err := o.Client()
	if err != nil {
		return err
	}
	// A first direct read reports a missing object at once, before any
	// watch is set up.
	view, err := gather(ctx, c, ns)
	if err != nil {
		return err
	}
	printer := tree.Printer{Color: tree.ColorWanted(f.noColor), Now: time.Now()}
	switch {
	case f.output != "":
		return printView(o.Streams.Out, f.output, view)
	case !f.watch:
		return render(printer, o.Streams.Out, view)
	}

	// Ctrl-C and --timeout-seconds end a watch normally, not as errors.
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if f.timeoutSeconds > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(f.timeoutSeconds)*time.Second)
		defer cancel()
	}
	cfg, err := o.RESTConfig()
	if err != nil {
		return err
	}
	scheme, err := manager.Scheme()
	if err != nil {
		return err
	}
	cached, changed, err := tree.Watch(ctx, cfg, scheme, ns)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	draw := func() {
		if v, err := gather(ctx, cached, ns); err == nil {
			view = v
		}
		// The whole screen is written at once, so it never shows half a
		// frame.
		var buf bytes.Buffer
		buf.WriteString(tree.ClearScreen)
		printer.Now = time.Now()
		if render(printer, &buf, view) == nil {
			_, _ = o.Streams.Out.Write(buf.Bytes())
		}
	}
	redrawLoop(ctx, changed, draw)
	return nil
}

// Redraws are at most this often, so a burst of changes does not make the
// terminal flicker, and at least once a tick, so ages and delays move.
const (
	redrawThrottle = 200 * time.Millisecond
	redrawTick     = time.Second
)

// redrawLoop calls draw now, after changes (throttled) and every tick,
// until ctx ends.
func redrawLoop(ctx context.Context, changed <-chan struct{}, draw func()) {
	ticker := time.NewTicker(redrawTick)
	defer ticker.Stop()
	throttle := time.NewTimer(redrawThrottle)
	defer throttle.Stop()
	var last time.Time
	pending := true
	for {
		if pending {
			if wait := redrawThrottle - time.Since(last); wait > 0 {
				throttle.Reset(wait)
			} else {
				draw()
				last, pending = time.Now(), false
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-changed:
			pending = true
		case <-ticker.C:
			pending = true
		case <-throttle.C:
		}
	}
}

// printView writes view as JSON or YAML.
func printView(w io.Writer, format string, view any) error {
	data, err := json.MarshalIndent(view, "", "  ")
	if err != nil {
		return err
	}
	if format == "yaml" {
		if data, err = yaml.JSONToYAML(data); err != nil {
			return err
		}
	} else {
		data = append(data, '\n')
	}
	_, err = w.Write(data)
	return err
}
