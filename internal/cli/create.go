package cli

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/analysis/templates"
)

func init() { register(newCreateCommand) }

// creatable are the kinds `create -f` accepts, by what they decode into.
var creatable = map[string]func() client.Object{
	"Rollout":                 func() client.Object { return &v1alpha1.Rollout{} },
	"Experiment":              func() client.Object { return &v1alpha1.Experiment{} },
	"AnalysisTemplate":        func() client.Object { return &v1alpha1.AnalysisTemplate{} },
	"ClusterAnalysisTemplate": func() client.Object { return &v1alpha1.ClusterAnalysisTemplate{} },
	"AnalysisRun":             func() client.Object { return &v1alpha1.AnalysisRun{} },
}

func newCreateCommand(o *Options) *cobra.Command {
	var (
		files          []string
		watch, noColor bool
	)
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create a Rollout, Experiment, AnalysisTemplate, ClusterAnalysisTemplate, or AnalysisRun resource",
		Long:  "This command creates a new Rollout, Experiment, AnalysisTemplate, ClusterAnalysisTemplate, or AnalysisRun resource from a file.",
		Example: `  # Create an experiment and watch it
  kubectl argo rollouts create -f my-experiment.yaml -w`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(files) == 0 {
				return errors.New("required flag -f/--filename not set: name the file(s) to create from")
			}
			var objs []client.Object
			for _, file := range files {
				read, err := readCreatable(file)
				if err != nil {
					return err
				}
				objs = append(objs, read...)
			}
			if watch && len(objs) > 1 {
				return errors.New("cannot watch multiple resources: create one Rollout or Experiment with -w")
			}
			c, err := o.Client()
			if err != nil {
				return err
			}
			ns, err := o.Namespace()
			if err != nil {
				return err
			}
			for _, obj := range objs {
				if _, cluster := obj.(*v1alpha1.ClusterAnalysisTemplate); !cluster && obj.GetNamespace() == "" {
					obj.SetNamespace(ns)
				}
				if err := o.create(cmd.Context(), c, obj); err != nil {
					return err
				}
			}
			if watch {
				return o.watchCreated(cmd, objs[0], noColor)
			}
			return nil
		},
	}
	cmd.Flags().StringArrayVarP(&files, "filename", "f", nil, "Files to use to create the resource")
	cmd.Flags().BoolVarP(&watch, "watch", "w", false, "Watch live updates to the resource after creating")
	cmd.Flags().BoolVar(&noColor, "no-color", false, "Do not colorize output")
	cmd.AddCommand(newCreateAnalysisRunCommand(o))
	return cmd
}

// create creates obj and prints `<kind>.argoproj.io/<name> created`, as
// kubectl does.
func (o *Options) create(ctx context.Context, c client.Client, obj client.Object) error {
	kind := kindOf(obj)
	if err := c.Create(ctx, obj); err != nil {
		if apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("%s %q already exists in namespace %q: delete it first or choose another name", kind, obj.GetName(), obj.GetNamespace())
		}
		return fmt.Errorf("create %s %q: %w", kind, obj.GetName(), err)
	}
	if _, err := fmt.Fprintf(o.Streams.Out, "%s.%s/%s created\n", strings.ToLower(kind), v1alpha1.GroupVersion.Group, obj.GetName()); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return nil
}

// kindOf is the kind of one of the creatable objects.
func kindOf(obj client.Object) string {
	switch obj.(type) {
	case *v1alpha1.Rollout:
		return "Rollout"
	case *v1alpha1.Experiment:
		return "Experiment"
	case *v1alpha1.AnalysisTemplate:
		return "AnalysisTemplate"
	case *v1alpha1.ClusterAnalysisTemplate:
		return "ClusterAnalysisTemplate"
	case *v1alpha1.AnalysisRun:
		return "AnalysisRun"
	}
	return fmt.Sprintf("%T", obj)
}

// watchCreated hands over to `get rollout|experiment NAME --watch`.
func (o *Options) watchCreated(cmd *cobra.Command, obj client.Object, noColor bool) error {
	var sub string
	switch obj.(type) {
	case *v1alpha1.Rollout:
		sub = "rollout"
	case *v1alpha1.Experiment:
		sub = "experiment"
	default:
		return fmt.Errorf("can only watch resources of type Rollout or Experiment, not %s", kindOf(obj))
	}
	get, _, err := cmd.Root().Find([]string{"get", sub})
	if err != nil || get.RunE == nil || get.Name() != sub {
		return fmt.Errorf("watch %s %q: the get %s command is not available", sub, obj.GetName(), sub)
	}
	if err := get.Flags().Set("watch", "true"); err != nil {
		return fmt.Errorf("watch %s %q: %w", sub, obj.GetName(), err)
	}
	if noColor {
		if err := get.Flags().Set("no-color", "true"); err != nil {
			return fmt.Errorf("watch %s %q: %w", sub, obj.GetName(), err)
		}
	}
	// The object may name its own namespace; watch it there.
	ns := obj.GetNamespace()
	o.Flags.Namespace = &ns
	get.SetContext(cmd.Context())
	return get.RunE(get, []string{obj.GetName()})
}

// document is one object of a manifest file.
type document struct {
	index int
	gvk   schema.GroupVersionKind
	name  string
	json  []byte
}

// readDocuments splits a YAML or JSON file into its objects, skipping
// empty documents.
func readDocuments(file string) ([]document, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", file, err)
	}
	var docs []document
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for i := 1; ; i++ {
		raw, err := r.Read()
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: read document %d: %w", file, i, err)
		}
		js, err := yaml.YAMLToJSON(raw)
		if err != nil {
			return nil, fmt.Errorf("%s: document %d is not valid YAML: %w", file, i, err)
		}
		if t := bytes.TrimSpace(js); len(t) == 0 || bytes.Equal(t, []byte("null")) {
			continue
		}
		var head struct {
			metav1.TypeMeta
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		if err := sigsjson.UnmarshalCaseSensitivePreserveInts(js, &head); err != nil {
			return nil, fmt.Errorf("%s: document %d is not a Kubernetes object: %w", file, i, err)
		}
		docs = append(docs, document{index: i, gvk: head.GroupVersionKind(), name: head.Metadata.Name, json: js})
	}
}

// decodeStrict decodes d into obj, rejecting unknown and duplicate fields
// (a misspelt field would otherwise be dropped without a word).
func (d document) decodeStrict(file string, obj any) error {
	strict, err := sigsjson.UnmarshalStrict(d.json, obj)
	if err == nil && len(strict) > 0 {
		err = errors.Join(strict...)
	}
	if err != nil {
		return fmt.Errorf("%s: document %d (%s %q): %w", file, d.index, d.gvk.Kind, d.name, err)
	}
	return nil
}

// readCreatable reads the objects of file, which must all be of the
// creatable kinds.
func readCreatable(file string) ([]client.Object, error) {
	docs, err := readDocuments(file)
	if err != nil {
		return nil, err
	}
	if len(docs) == 0 {
		return nil, fmt.Errorf("%s holds no object", file)
	}
	var objs []client.Object
	for _, d := range docs {
		newObj := creatable[d.gvk.Kind]
		if d.gvk.GroupVersion() != v1alpha1.GroupVersion || newObj == nil {
			return nil, fmt.Errorf("%s: document %d is %s %s: create supports only argoproj.io/v1alpha1 Rollout, Experiment, AnalysisTemplate, ClusterAnalysisTemplate and AnalysisRun (use kubectl apply for the rest)",
				file, d.index, d.gvk.GroupVersion(), d.gvk.Kind)
		}
		obj := newObj()
		if err := d.decodeStrict(file, obj); err != nil {
			return nil, err
		}
		objs = append(objs, obj)
	}
	return objs, nil
}

// analysisRunFlags are the flags of `create analysisrun`.
type analysisRunFlags struct {
	from, fromFile     string
	global             bool
	args               []string
	name, generateName string
	instanceID         string
	// caller names where the arguments come from in errors ("" for the
	// controller's wording).
	caller string
}

func newCreateAnalysisRunCommand(o *Options) *cobra.Command {
	var f analysisRunFlags
	cmd := &cobra.Command{
		Use:     "analysisrun",
		Aliases: []string{"ar"},
		Short:   "Create an AnalysisRun from an AnalysisTemplate or a ClusterAnalysisTemplate",
		Long:    "This command creates a new AnalysisRun from an existing AnalysisTemplate resources or from an AnalysisTemplate file.",
		Example: `  # Create an AnalysisRun from a local AnalysisTemplate file
  kubectl argo rollouts create analysisrun --from-file my-analysis-template.yaml

  # Create an AnalysisRun from a AnalysisTemplate in the cluster
  kubectl argo rollouts create analysisrun --from my-analysis-template

  # Create an AnalysisRun from a local ClusterAnalysisTemplate file
  kubectl argo rollouts create analysisrun --global --from-file my-analysis-cluster-template.yaml

  # Create an AnalysisRun from a ClusterAnalysisTemplate in the cluster
  kubectl argo rollouts create analysisrun --global --from my-analysis-cluster-template

  # Create an AnalysisRun and name it
  kubectl argo rollouts create analysisrun --from my-analysis-template --name my-analysis-run

  # Create an AnalysisRun with args
  kubectl argo rollouts create analysisrun --from my-analysis-template --argument name1=value1 --argument name2=value2`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if (f.from == "") == (f.fromFile == "") {
				return errors.New("one of --from or --from-file must be specified")
			}
			args, err := parseArgs(f.args)
			if err != nil {
				return err
			}
			c, err := o.Client()
			if err != nil {
				return err
			}
			ns, err := o.Namespace()
			if err != nil {
				return err
			}
			run, err := buildAnalysisRun(cmd.Context(), c, ns, f, args)
			if err != nil {
				return err
			}
			return o.create(cmd.Context(), c, run)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.name, "name", "", "Use the specified name for the run")
	fl.StringVar(&f.generateName, "generate-name", "", "Use the specified generateName for the run")
	fl.StringVar(&f.instanceID, "instance-id", "", "Instance-ID for the AnalysisRun")
	fl.StringArrayVarP(&f.args, "argument", "a", nil, "Arguments to the parameter template")
	fl.StringVar(&f.from, "from", "", "Create an AnalysisRun from an AnalysisTemplate or ClusterAnalysisTemplate in the cluster")
	fl.StringVar(&f.fromFile, "from-file", "", "Create an AnalysisRun from an AnalysisTemplate or ClusterAnalysisTemplate in a local file")
	fl.BoolVar(&f.global, "global", false, "Use a ClusterAnalysisTemplate instead of a AnalysisTemplate")
	// Completing --from lists the templates on the cluster (the cluster
	// ones with --global); a completion error just offers nothing.
	_ = cmd.RegisterFlagCompletionFunc("from", func(cmd *cobra.Command, _ []string, prefix string) ([]string, cobra.ShellCompDirective) {
		names, err := o.templateNames(cmd.Context(), f.global)
		if err != nil {
			return nil, cobra.ShellCompDirectiveError
		}
		var out []string
		for _, n := range names {
			if strings.HasPrefix(n, prefix) {
				out = append(out, n)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	})
	return cmd
}

// templateNames lists the AnalysisTemplates of the namespace, or with
// cluster the ClusterAnalysisTemplates.
func (o *Options) templateNames(ctx context.Context, cluster bool) ([]string, error) {
	c, err := o.Client()
	if err != nil {
		return nil, err
	}
	var names []string
	if cluster {
		var list v1alpha1.ClusterAnalysisTemplateList
		if err := c.List(ctx, &list); err != nil {
			return nil, fmt.Errorf("list ClusterAnalysisTemplates: %w", err)
		}
		for _, t := range list.Items {
			names = append(names, t.Name)
		}
		return names, nil
	}
	ns, err := o.Namespace()
	if err != nil {
		return nil, err
	}
	var list v1alpha1.AnalysisTemplateList
	if err := c.List(ctx, &list, client.InNamespace(ns)); err != nil {
		return nil, fmt.Errorf("list AnalysisTemplates in namespace %s: %w", ns, err)
	}
	for _, t := range list.Items {
		names = append(names, t.Name)
	}
	return names, nil
}

// parseArgs reads -a NAME=VALUE flags.
func parseArgs(flags []string) ([]v1alpha1.Argument, error) {
	var out []v1alpha1.Argument
	for _, a := range flags {
		name, value, ok := strings.Cut(a, "=")
		if !ok || name == "" {
			return nil, fmt.Errorf("argument %q must be in the form NAME=VALUE", a)
		}
		out = append(out, v1alpha1.Argument{Name: name, Value: &value})
	}
	return out, nil
}

// buildAnalysisRun makes the AnalysisRun of `create analysisrun` with the
// controller's own merging (templates.Build): the template, the templates
// it nests, the -a arguments overriding the templates' values, and the
// same checks that the run can start. Nested templates come from the file
// when --from-file holds them, else from the cluster.
func buildAnalysisRun(ctx context.Context, c client.Reader, ns string, f analysisRunFlags, args []v1alpha1.Argument) (*v1alpha1.AnalysisRun, error) {
	kind := "AnalysisTemplate"
	if f.global {
		kind = "ClusterAnalysisTemplate"
	}
	local := map[string]*v1alpha1.AnalysisTemplateSpec{} // kind/name → spec, from --from-file
	templateName := f.from
	if f.fromFile != "" {
		docs, err := readDocuments(f.fromFile)
		if err != nil {
			return nil, err
		}
		for _, d := range docs {
			if d.gvk.GroupVersion() != v1alpha1.GroupVersion || (d.gvk.Kind != "AnalysisTemplate" && d.gvk.Kind != "ClusterAnalysisTemplate") {
				continue
			}
			var t v1alpha1.AnalysisTemplate // both kinds have the same fields
			if err := d.decodeStrict(f.fromFile, &t); err != nil {
				return nil, err
			}
			local[d.gvk.Kind+"/"+d.name] = &t.Spec
			if templateName == "" && d.gvk.Kind == kind {
				templateName = d.name
			}
		}
		if templateName == "" {
			hint := ""
			if !f.global {
				hint = " (use --global for a ClusterAnalysisTemplate)"
			}
			return nil, fmt.Errorf("%s holds no %s%s", f.fromFile, kind, hint)
		}
	}
	lookup := func(name string, cluster bool) (*v1alpha1.AnalysisTemplateSpec, error) {
		k := "AnalysisTemplate"
		if cluster {
			k = "ClusterAnalysisTemplate"
		}
		if spec, ok := local[k+"/"+name]; ok {
			return spec, nil
		}
		if cluster {
			var t v1alpha1.ClusterAnalysisTemplate
			if err := c.Get(ctx, types.NamespacedName{Name: name}, &t); err != nil {
				return nil, notFoundOr(err, "not found")
			}
			return &t.Spec, nil
		}
		var t v1alpha1.AnalysisTemplate
		if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, &t); err != nil {
			return nil, notFoundOr(err, fmt.Sprintf("not found in namespace %q", ns))
		}
		return &t.Spec, nil
	}
	global := f.global
	spec, err := templates.Build(templates.Request{
		Templates: []v1alpha1.AnalysisTemplateRef{{TemplateName: templateName, ClusterScope: &global}},
		Args:      args,
		Caller:    f.caller,
	}, lookup)
	if err != nil {
		return nil, fmt.Errorf("build the AnalysisRun from %s %q: %w", kind, templateName, err)
	}
	run := &v1alpha1.AnalysisRun{ObjectMeta: metav1.ObjectMeta{Namespace: ns}, Spec: spec}
	switch {
	case f.name != "":
		run.Name = f.name
	case f.generateName != "":
		run.GenerateName = f.generateName
	default:
		run.GenerateName = templateName + "-"
	}
	if f.instanceID != "" {
		run.Labels = map[string]string{v1alpha1.LabelControllerInstanceID: f.instanceID}
	}
	return run, nil
}

// notFoundOr words a NotFound as msg and passes any other error on;
// templates.Collect prefixes the template's kind and name.
func notFoundOr(err error, msg string) error {
	if apierrors.IsNotFound(err) {
		return errors.New(msg)
	}
	return fmt.Errorf("read: %w", err)
}
