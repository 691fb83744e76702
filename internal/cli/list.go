package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/clientside/tree"
	"github.com/aviary-rollouts/aviary/internal/manager"
	"github.com/aviary-rollouts/aviary/internal/plan/phase"
)

func init() { register(newListCommand) }

func newListCommand(o *Options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "list <rollout|experiment>",
		Short: "List rollouts or experiments",
		Long: `This command consists of multiple subcommands which can be used to lists all of the 
rollouts or experiments for a specified namespace (uses current namespace context if namespace not specified).`,
		Example: `  # List rollouts
  kubectl argo rollouts list rollouts

  # List experiments
  kubectl argo rollouts list experiments`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newListRolloutsCommand(o), newListExperimentsCommand(o))
	return cmd
}

// listFlags are the flags of the list subcommands.
type listFlags struct {
	name          string
	allNamespaces bool
	watch         bool
	timestamps    bool
}

// listOptions select the namespace (all with -A) and, with --name, one
// object by a field selector, which the API server applies to any kind.
func (o *Options) listOptions(f listFlags) ([]client.ListOption, error) {
	var opts []client.ListOption
	if !f.allNamespaces {
		ns, err := o.Namespace()
		if err != nil {
			return nil, err
		}
		opts = append(opts, client.InNamespace(ns))
	}
	if f.name != "" {
		opts = append(opts, client.MatchingFields{"metadata.name": f.name})
	}
	return opts, nil
}

// list lists into list what the flags select, and says "No resources
// found." on stderr, as kubectl does, when there is nothing.
func (o *Options) list(ctx context.Context, f listFlags, list client.ObjectList) (opts []client.ListOption, empty bool, err error) {
	if opts, err = o.listOptions(f); err != nil {
		return nil, false, err
	}
	c, err := o.Client()
	if err != nil {
		return nil, false, err
	}
	if err := c.List(ctx, list, opts...); err != nil {
		return nil, false, fmt.Errorf("list: %w", err)
	}
	if meta.LenList(list) > 0 {
		return opts, false, nil
	}
	// A watch goes on to wait for the first ones.
	if f.watch {
		return opts, true, nil
	}
	_, err = fmt.Fprintln(o.Streams.ErrOut, "No resources found.")
	return opts, true, err
}

// contextOf is the command's context; commands run outside Execute (in
// tests) have none.
func contextOf(cmd *cobra.Command) context.Context {
	if ctx := cmd.Context(); ctx != nil {
		return ctx
	}
	return context.Background()
}

func newListRolloutsCommand(o *Options) *cobra.Command {
	var f listFlags
	cmd := &cobra.Command{
		Use:     "rollouts",
		Aliases: []string{"ro", "rollout"},
		Short:   "List rollouts",
		Long:    "This command lists all of the rollouts for a specified namespace (uses current namespace context if namespace not specified).",
		Example: `  # List rollouts
  kubectl argo rollouts list rollouts

  # List rollouts with a specific name
  kubectl argo rollouts list rollouts --name my-rollout

  # List rollouts from all namespaces
  kubectl argo rollouts list rollouts --all-namespaces

  # List rollouts and watch for changes
  kubectl argo rollouts list rollouts --watch`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := contextOf(cmd)
			var list v1alpha1.RolloutList
			opts, empty, err := o.list(ctx, f, &list)
			if err != nil || (empty && !f.watch) {
				return err
			}
			w := tabwriter.NewWriter(o.Streams.Out, 0, 0, 2, ' ', 0)
			header := "NAME\tSTRATEGY\tSTATUS\tSTEP\tSET-WEIGHT\tREADY\tDESIRED\tUP-TO-DATE\tAVAILABLE\n"
			if f.allNamespaces {
				header = "NAMESPACE\t" + header
			}
			if f.timestamps {
				header = "TIMESTAMP\t" + header
			}
			fmt.Fprint(w, header)
			for i := range list.Items {
				fmt.Fprintln(w, newRolloutLine(&list.Items[i]).format(f))
			}
			if err := w.Flush(); err != nil {
				return err
			}
			if !f.watch {
				return nil
			}
			return o.watchRolloutLines(ctx, f, opts, &list)
		},
	}
	cmd.Flags().StringVar(&f.name, "name", "", "Only show rollout with specified name")
	cmd.Flags().BoolVarP(&f.allNamespaces, "all-namespaces", "A", false, "Include all namespaces")
	cmd.Flags().BoolVarP(&f.watch, "watch", "w", false, "Watch for changes")
	cmd.Flags().BoolVar(&f.timestamps, "timestamps", false, "Print timestamps on updates")
	return cmd
}

// rolloutLine is one row of `list rollouts`; rows are comparable, so a
// watch prints a Rollout again only when its row changed.
type rolloutLine struct {
	namespace, name, strategy, status, step, setWeight, ready string
	desired, upToDate, available                              int32
}

func newRolloutLine(ro *v1alpha1.Rollout) rolloutLine {
	view := rolloutLine{
		namespace: ro.Namespace, name: ro.Name, strategy: "unknown", step: "-", setWeight: "-",
		ready:   fmt.Sprintf("%d/%d", ro.Status.ReadyReplicas, ro.Status.Replicas),
		desired: ro.ReplicasOrDefault(), upToDate: ro.Status.UpdatedReplicas, available: ro.Status.AvailableReplicas,
	}
	switch {
	case ro.Spec.Strategy.Canary != nil:
		view.strategy = "Canary"
		steps := ro.Spec.Strategy.Canary.Steps
		if ro.Status.CurrentStepIndex != nil && len(steps) > 0 {
			view.step = fmt.Sprintf("%d/%d", *ro.Status.CurrentStepIndex, len(steps))
		}
		view.setWeight = strconv.Itoa(int(tree.SetWeight(ro)))
	case ro.Spec.Strategy.BlueGreen != nil:
		view.strategy = "BlueGreen"
	}
	st, _ := phase.Observed(ro)
	view.status = string(st)
	return view
}

// format lays the row out with the plugin's minimum column widths.
func (l rolloutLine) format(f listFlags) string {
	s := fmt.Sprintf("%-10s\t%-9s\t%-12s\t%-4s\t%-10s\t%-5s\t%-7d\t%-10d\t%-9d",
		l.name, l.strategy, l.status, l.step, l.setWeight, l.ready, l.desired, l.upToDate, l.available)
	if f.allNamespaces {
		s = fmt.Sprintf("%-9s\t", l.namespace) + s
	}
	if f.timestamps {
		s = fmt.Sprintf("%-20s\t", time.Now().UTC().Truncate(time.Second).Format("2006-01-02T15:04:05Z")) + s
	}
	return s
}

// watchRolloutLines prints a Rollout's row again whenever it changes,
// until Ctrl-C. Rows are flushed in batches every half second, so a
// batch's columns line up.
func (o *Options) watchRolloutLines(ctx context.Context, f listFlags, opts []client.ListOption, list *v1alpha1.RolloutList) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg, err := o.RESTConfig()
	if err != nil {
		return err
	}
	scheme, err := manager.Scheme()
	if err != nil {
		return err
	}
	wc, err := client.NewWithWatch(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return fmt.Errorf("connect to the cluster: %w", err)
	}
	prev := map[[2]string]rolloutLine{}
	for i := range list.Items {
		l := newRolloutLine(&list.Items[i])
		prev[[2]string{l.namespace, l.name}] = l
	}
	w := tabwriter.NewWriter(o.Streams.Out, 0, 0, 2, ' ', 0)
	flush := time.NewTicker(500 * time.Millisecond)
	defer flush.Stop()
	version := list.ResourceVersion
	failures := 0
	for {
		watchOpts := append(opts[:len(opts):len(opts)], &client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: version}})
		watcher, err := wc.Watch(ctx, &v1alpha1.RolloutList{}, watchOpts...)
		if err != nil {
			if ctx.Err() != nil {
				return w.Flush()
			}
			// The watch is retried a few times, as a dropped connection
			// is not worth ending a watch for.
			if failures++; failures > 5 {
				return fmt.Errorf("watch rollouts: %w", err)
			}
			fmt.Fprintf(o.Streams.ErrOut, "watch rollouts: %v\n", err)
			time.Sleep(time.Second)
			continue
		}
		failures = 0
		done, err := o.drainRolloutWatch(ctx, watcher, w, flush.C, f, prev, &version)
		watcher.Stop()
		if done || err != nil {
			_ = w.Flush()
			return err
		}
	}
}

// drainRolloutWatch prints changed rows from one watch; it returns done
// when ctx ends and false when the server closed the watch.
func (o *Options) drainRolloutWatch(ctx context.Context, watcher watch.Interface, w *tabwriter.Writer, flush <-chan time.Time, f listFlags, prev map[[2]string]rolloutLine, version *string) (bool, error) {
	for {
		select {
		case <-ctx.Done():
			return true, nil
		case <-flush:
			if err := w.Flush(); err != nil {
				return true, err
			}
		case ev, ok := <-watcher.ResultChan():
			if !ok {
				return false, nil
			}
			ro, isRollout := ev.Object.(*v1alpha1.Rollout)
			if !isRollout {
				// An error event (such as an expired resource version)
				// restarts the watch from now.
				*version = ""
				return false, nil
			}
			*version = ro.ResourceVersion
			l := newRolloutLine(ro)
			key := [2]string{l.namespace, l.name}
			if old, seen := prev[key]; !seen || old != l {
				fmt.Fprintln(w, l.format(f))
				prev[key] = l
			}
		}
	}
}

func newListExperimentsCommand(o *Options) *cobra.Command {
	var f listFlags
	cmd := &cobra.Command{
		Use:     "experiments",
		Aliases: []string{"exp", "experiment"},
		Short:   "List experiments",
		Long:    "This command lists all of the experiments for a specified namespace (uses current namespace context if namespace not specified).",
		Example: `  # List experiments
  kubectl argo rollouts list experiments

  # List experiments from all namespaces
  kubectl argo rollouts list experiments --all-namespaces`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var list v1alpha1.ExperimentList
			if _, empty, err := o.list(contextOf(cmd), f, &list); err != nil || empty {
				return err
			}
			return printExperimentTable(o.Streams.Out, list.Items, f.allNamespaces, time.Now())
		},
	}
	cmd.Flags().BoolVarP(&f.allNamespaces, "all-namespaces", "A", false, "Include all namespaces")
	return cmd
}

// printExperimentTable lists experiments with their duration and, while
// running, the time left.
func printExperimentTable(out io.Writer, exps []v1alpha1.Experiment, allNamespaces bool, now time.Time) error {
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	header, row := "NAME\tSTATUS\tDURATION\tREMAINING\tAGE\n", "%-10s\t%-6s\t%-8s\t%-9s\t%-3s\n"
	if allNamespaces {
		header, row = "NAMESPACE\t"+header, "%-9s\t"+row
	}
	fmt.Fprint(w, header)
	for _, exp := range exps {
		dur, remaining := "-", "-"
		if d, err := exp.Spec.Duration.Duration(); exp.Spec.Duration != "" && err == nil {
			dur = duration.HumanDuration(d)
			if !exp.Status.Phase.Completed() && exp.Status.AvailableAt != nil {
				if left := d - now.Sub(exp.Status.AvailableAt.Time); left > 0 {
					remaining = duration.HumanDuration(left)
				}
			}
		}
		var cols []any
		if allNamespaces {
			cols = append(cols, exp.Namespace)
		}
		cols = append(cols, exp.Name, exp.Status.Phase, dur, remaining, duration.HumanDuration(now.Sub(exp.CreationTimestamp.Time)))
		fmt.Fprintf(w, row, cols...)
	}
	return w.Flush()
}
