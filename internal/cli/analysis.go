package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/spf13/cobra"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/analysisrun"
	"github.com/aviary-rollouts/aviary/internal/cli/analysistest"
	"github.com/aviary-rollouts/aviary/internal/metricprovider/builtin"
)

func init() { register(newAnalysisCommand) }

func newAnalysisCommand(o *Options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "analysis",
		Short: "Test analysis templates",
		Long:  "Commands for analysis templates (Aviary's own; the Argo Rollouts plugin has none).",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return cmd.Help()
		},
	}
	cmd.AddCommand(newAnalysisTestCommand(o))
	return cmd
}

// analysisTestFlags are the flags of `analysis test`.
type analysisTestFlags struct {
	file     string
	args     []string
	count    int
	interval time.Duration
	// home is the controller's namespace, where providers read their
	// default credentials Secrets.
	home string
}

func newAnalysisTestCommand(o *Options) *cobra.Command {
	var f analysisTestFlags
	cmd := &cobra.Command{
		Use:   "test -f TEMPLATE_FILE",
		Short: "Measure an AnalysisTemplate's metrics now, as an AnalysisRun would",
		Long: "This command measures the metrics of the first AnalysisTemplate or ClusterAnalysisTemplate in a file from this machine,\n" +
			"against the live providers, with the controller's own providers and evaluation: arguments are merged as the controller\n" +
			"merges them (--arg overrides a template's value; secretKeyRef arguments are read from the namespace through your\n" +
			"kubeconfig and never printed), each measurement is printed with its value and condition as it is taken, and the\n" +
			"engine's limits decide the verdict. Templates it nests come from the file, else from the cluster.\n\n" +
			"A metric that measures until its run ends (an interval and no count) is measured the fewest times its limits allow,\n" +
			"unless --count says otherwise. Job metrics and metric plugins are not measured from here (the output says why).\n\n" +
			"Exit status: 0 the run would pass, 1 it would fail, 2 an error, an inconclusive run, or a metric not measured.",
		Example: `  # Measure a template's metrics with its arguments
  kubectl argo rollouts analysis test -f success-rate.yaml --arg service-name=checkout

  # Three measurements, ten seconds apart
  kubectl argo rollouts analysis test -f success-rate.yaml --count 3 --interval 10s`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			code, err := o.testAnalysis(cmd.Context(), f)
			switch {
			case err != nil:
				return &ExitError{Code: analysistest.ExitUndecided, Err: err}
			case code != analysistest.ExitPass:
				return &ExitError{Code: code}
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.file, "filename", "f", "", "File holding the AnalysisTemplate or ClusterAnalysisTemplate to test (the first one in it)")
	fl.StringArrayVar(&f.args, "arg", nil, "Argument NAME=VALUE for the template (repeat for more)")
	fl.IntVar(&f.count, "count", 0, "Measurements each metric takes (default: the metric's count)")
	fl.DurationVar(&f.interval, "interval", 0, "Time between a metric's measurements (default: the metric's interval)")
	fl.StringVar(&f.home, "controller-namespace", "argo-rollouts", "Namespace of the controller, where providers find their default credentials Secrets (datadog, newrelic, influxdb, wavefront-api-tokens)")
	return cmd
}

// testAnalysis builds the run the template makes and measures it; the
// code is analysistest's.
func (o *Options) testAnalysis(ctx context.Context, f analysisTestFlags) (int, error) {
	if f.file == "" {
		return 0, errors.New("required flag -f/--filename not set: name the AnalysisTemplate or ClusterAnalysisTemplate file to test")
	}
	if f.count < 0 || f.interval < 0 {
		return 0, fmt.Errorf("--count %d and --interval %s must not be negative", f.count, f.interval)
	}
	args, err := parseArgs(f.args)
	if err != nil {
		return 0, err
	}
	kind, err := firstTemplateKind(f.file)
	if err != nil {
		return 0, err
	}
	// Without a kubeconfig a template that reads nothing from the cluster
	// is still measured; whatever needs the cluster says why it cannot.
	ns := "default"
	if n := o.Flags.Namespace; n != nil && *n != "" {
		ns = *n
	} else if n, err := o.Namespace(); err == nil && n != "" {
		ns = n
	}
	live := lazyReader{o}
	run, err := buildAnalysisRun(ctx, live, ns, analysisRunFlags{fromFile: f.file, global: kind == "ClusterAnalysisTemplate", caller: "--arg"}, args)
	if err != nil {
		return 0, err
	}
	run.Name = run.GenerateName[:len(run.GenerateName)-1]
	run.GenerateName = ""
	for _, a := range args {
		if !declared(run.Spec.Args, a.Name) {
			fmt.Fprintf(o.Streams.ErrOut, "warning: --arg %s: the template declares no argument %q; it is not used\n", a.Name, a.Name)
		}
	}
	skipped, err := analysistest.Prepare(run, analysistest.Overrides{Count: f.count, Interval: f.interval})
	if err != nil {
		return 0, err
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()
	test := &analysistest.Test{
		Run: run,
		Measurer: &analysisrun.Measurer{Secrets: live, Now: time.Now,
			Providers: builtin.Providers(builtin.Options{Live: live, Home: f.home})},
		Skipped:  skipped,
		Template: fmt.Sprintf("%s %q", kind, run.Name),
		Out:      o.Streams.Out,
	}
	return test.Do(ctx)
}

// firstTemplateKind is the kind of the first template in file, which
// buildAnalysisRun then picks.
func firstTemplateKind(file string) (string, error) {
	docs, err := readDocuments(file)
	if err != nil {
		return "", err
	}
	for _, d := range docs {
		if d.gvk.GroupVersion() == v1alpha1.GroupVersion && (d.gvk.Kind == "AnalysisTemplate" || d.gvk.Kind == "ClusterAnalysisTemplate") {
			return d.gvk.Kind, nil
		}
	}
	return "", fmt.Errorf("%s holds no argoproj.io/v1alpha1 AnalysisTemplate or ClusterAnalysisTemplate", file)
}

func declared(args []v1alpha1.Argument, name string) bool {
	for _, a := range args {
		if a.Name == name {
			return true
		}
	}
	return false
}

// lazyReader reads through the command's client, built on first use: a
// template that needs nothing from the cluster is measured without one.
type lazyReader struct{ o *Options }

func (l lazyReader) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	c, err := l.o.Client()
	if err != nil {
		return err
	}
	return c.Get(ctx, key, obj, opts...)
}

func (l lazyReader) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	c, err := l.o.Client()
	if err != nil {
		return err
	}
	return c.List(ctx, list, opts...)
}

// ExitError ends the command with Code; Err, when set, is printed as the
// error (a verdict the output already told has none).
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }
