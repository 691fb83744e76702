package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/manager"
)

func fakeClient(t *testing.T, objs ...client.Object) client.Client {
	t.Helper()
	scheme, err := manager.Scheme()
	if err != nil {
		t.Fatal(err)
	}
	return fake.NewClientBuilder().WithScheme(scheme).WithObjects(objs...).Build()
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "f.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestParseArgs(t *testing.T) {
	got, err := parseArgs([]string{"a=b=c", "empty="})
	if err != nil || len(got) != 2 || got[0].Name != "a" || *got[0].Value != "b=c" || *got[1].Value != "" {
		t.Fatalf("got %+v, %v", got, err)
	}
	for _, bad := range []string{"novalue", "=v"} {
		if _, err := parseArgs([]string{bad}); err == nil || !strings.Contains(err.Error(), "NAME=VALUE") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

const templatesFile = `apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata:
  name: outer
spec:
  args:
  - name: host
  templates:
  - templateName: inner
  metrics:
  - name: up
    provider:
      web:
        url: "http://{{args.host}}/up"
---
apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata:
  name: inner
spec:
  metrics:
  - name: ready
    provider:
      web:
        url: "http://{{args.host}}/ready"
`

func TestBuildAnalysisRunFromFile(t *testing.T) {
	host := "example"
	f := analysisRunFlags{fromFile: writeFile(t, templatesFile), instanceID: "i1"}
	run, err := buildAnalysisRun(context.Background(), fakeClient(t), "ns", f, []v1alpha1.Argument{{Name: "host", Value: &host}})
	if err != nil {
		t.Fatal(err)
	}
	// The first template is the one instantiated; the nested one is read
	// from the same file, and its metrics come after.
	if run.GenerateName != "outer-" || run.Namespace != "ns" || run.Labels[v1alpha1.LabelControllerInstanceID] != "i1" {
		t.Errorf("metadata %+v", run.ObjectMeta)
	}
	if len(run.Spec.Metrics) != 2 || run.Spec.Metrics[0].Name != "up" || run.Spec.Metrics[1].Name != "ready" {
		t.Errorf("metrics %+v", run.Spec.Metrics)
	}
	if len(run.Spec.Args) != 1 || *run.Spec.Args[0].Value != "example" {
		t.Errorf("args %+v", run.Spec.Args)
	}

	f.global = true
	if _, err := buildAnalysisRun(context.Background(), fakeClient(t), "ns", f, nil); err == nil || !strings.Contains(err.Error(), "holds no ClusterAnalysisTemplate") {
		t.Errorf("--global with no ClusterAnalysisTemplate in the file: %v", err)
	}
}

func TestBuildAnalysisRunFromCluster(t *testing.T) {
	v := "v"
	tmpl := &v1alpha1.ClusterAnalysisTemplate{}
	tmpl.Name = "global"
	tmpl.Spec.Metrics = []v1alpha1.Metric{{Name: "m", Provider: v1alpha1.MetricProvider{Web: &v1alpha1.WebMetric{URL: "http://x/{{args.a}}"}}}}
	tmpl.Spec.Args = []v1alpha1.Argument{{Name: "a"}}
	c := fakeClient(t, tmpl)

	run, err := buildAnalysisRun(context.Background(), c, "ns", analysisRunFlags{from: "global", global: true, name: "named"}, []v1alpha1.Argument{{Name: "a", Value: &v}})
	if err != nil || run.Name != "named" || run.GenerateName != "" {
		t.Fatalf("run %+v, %v", run, err)
	}
	_, err = buildAnalysisRun(context.Background(), c, "ns", analysisRunFlags{from: "global", global: true}, nil)
	if err == nil || !strings.Contains(err.Error(), "args.a was not resolved") {
		t.Errorf("missing arg: %v", err)
	}
	_, err = buildAnalysisRun(context.Background(), c, "ns", analysisRunFlags{from: "global"}, nil)
	if err == nil || !strings.Contains(err.Error(), `AnalysisTemplate "global": not found in namespace "ns"`) {
		t.Errorf("namespaced lookup of a cluster template: %v", err)
	}
}

func TestReadCreatable(t *testing.T) {
	objs, err := readCreatable(writeFile(t, templatesFile))
	if err != nil || len(objs) != 2 || objs[1].GetName() != "inner" {
		t.Fatalf("objs %v, %v", objs, err)
	}
	cases := []struct{ content, want string }{
		{"apiVersion: v1\nkind: Service\nmetadata: {name: s}\n", "document 1 is v1 Service: create supports only"},
		{"apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata: {name: r}\nspec: {replica: 1}\n", `document 1 (Rollout "r"): unknown field "spec.replica"`},
		{"# nothing\n", "holds no object"},
	}
	for _, c := range cases {
		if _, err := readCreatable(writeFile(t, c.content)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.content, err, c.want)
		}
	}
}

func TestCreatePrintsLikeKubectl(t *testing.T) {
	var out bytes.Buffer
	o := &Options{Streams: genericiooptions.IOStreams{Out: &out}}
	c := fakeClient(t)
	tmpl := &v1alpha1.ClusterAnalysisTemplate{}
	tmpl.Name = "g"
	if err := o.create(context.Background(), c, tmpl); err != nil {
		t.Fatal(err)
	}
	if out.String() != "clusteranalysistemplate.argoproj.io/g created\n" {
		t.Errorf("output %q", out.String())
	}
	again := &v1alpha1.ClusterAnalysisTemplate{}
	again.Name = "g"
	if err := o.create(context.Background(), c, again); err == nil || !strings.Contains(err.Error(), `ClusterAnalysisTemplate "g" already exists`) {
		t.Errorf("second create: %v", err)
	}
}

func TestCompleteFromTemplateNames(t *testing.T) {
	at := func(name, ns string) *v1alpha1.AnalysisTemplate {
		a := &v1alpha1.AnalysisTemplate{}
		a.Name, a.Namespace = name, ns
		return a
	}
	cat := &v1alpha1.ClusterAnalysisTemplate{}
	cat.Name = "smoke-global"
	flags := genericclioptions.NewConfigFlags(true)
	ns := "ns"
	flags.Namespace = &ns
	o := &Options{Flags: flags}
	o.SetClient(fakeClient(t, at("smoke", "ns"), at("success-rate", "ns"), at("smoke-elsewhere", "other"), cat))
	cmd := newCreateAnalysisRunCommand(o)
	complete, ok := cmd.GetFlagCompletionFunc("from")
	if !ok {
		t.Fatal("--from has no completion")
	}
	got, directive := complete(cmd, nil, "sm")
	if strings.Join(got, ",") != "smoke" || directive != cobra.ShellCompDirectiveNoFileComp {
		t.Errorf("namespaced: %v %v", got, directive)
	}
	if err := cmd.Flags().Set("global", "true"); err != nil {
		t.Fatal(err)
	}
	if got, _ := complete(cmd, nil, ""); strings.Join(got, ",") != "smoke-global" {
		t.Errorf("--global: %v", got)
	}
}
