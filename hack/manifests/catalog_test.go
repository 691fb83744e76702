package main

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/argoproj/notifications-engine/pkg/api"
	"github.com/argoproj/notifications-engine/pkg/services"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/yaml"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/notify"
)

// catalogTriggers are Argo Rollouts' triggers and the template each sends,
// by the names users' subscriptions and configurations use.
var catalogTriggers = map[string]string{
	"on-rollout-completed":      "rollout-completed",
	"on-rollout-step-completed": "rollout-step-completed",
	"on-rollout-updated":        "rollout-updated",
	"on-rollout-paused":         "rollout-paused",
	"on-rollout-aborted":        "rollout-aborted",
	"on-scaling-replica-set":    "scaling-replicaset",
	"on-analysis-run-running":   "analysis-run-running",
	"on-analysis-run-error":     "analysis-run-error",
	"on-analysis-run-failed":    "analysis-run-failed",
}

// catalogRollouts are the rollouts every template must render for: a
// canary mid-update with a run (a quote in its messages, as status
// messages may have), a blue-green one, and one just created (no status,
// no revision, no steps).
var catalogRollouts = []string{`
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: checkout
  namespace: shop
  annotations: {rollout.argoproj.io/revision: "4"}
spec:
  replicas: 5
  selector: {matchLabels: {app: checkout}}
  template:
    metadata: {labels: {app: checkout}}
    spec:
      containers:
      - {name: web, image: "shop/checkout:v2"}
      - {name: proxy, image: "envoy:1.30"}
  strategy:
    canary:
      steps: [{setWeight: 20}, {pause: {}}, {setWeight: 60}]
status:
  currentPodHash: 5d8f7c9b4
  currentStepIndex: 1
  updatedReplicas: 1
  phase: Degraded
  message: 'RolloutAborted: metric "errors" assessed Failed'
`, `
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: billing
  namespace: shop
  annotations: {rollout.argoproj.io/revision: "2"}
spec:
  replicas: 2
  selector: {matchLabels: {app: billing}}
  template:
    metadata: {labels: {app: billing}}
    spec:
      containers: [{name: api, image: "shop/billing:v9"}]
  strategy:
    blueGreen: {activeService: billing, previewService: billing-preview}
status:
  currentPodHash: 7c6d5f8
  phase: Healthy
`, `
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: fresh
  namespace: shop
spec:
  selector: {matchLabels: {app: fresh}}
  template:
    metadata: {labels: {app: fresh}}
    spec:
      containers: [{name: app, image: "fresh:1"}]
  strategy:
    canary: {}
`}

// catalogRun is the canary's current-revision AnalysisRun.
const catalogRun = `
apiVersion: argoproj.io/v1alpha1
kind: AnalysisRun
metadata:
  name: checkout-5d8f7c9b4-4-1
  namespace: shop
  labels: {rollouts-pod-template-hash: 5d8f7c9b4}
  annotations: {rollout.argoproj.io/revision: "4"}
spec:
  metrics: [{name: errors, provider: {web: {url: "http://example"}}}]
status:
  phase: Failed
  message: 'metric "errors" assessed Failed'
`

// recorder is a notification service keeping what it was asked to send.
type recorder struct{ sent []services.Notification }

func (r *recorder) Send(n services.Notification, _ services.Destination) error {
	r.sent = append(r.sent, n)
	return nil
}

func readCatalog(t *testing.T) *corev1.ConfigMap {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "manifests", "notifications", "catalog.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var cm corev1.ConfigMap
	if err := yaml.UnmarshalStrict(data, &cm); err != nil {
		t.Fatalf("catalog.yaml: %v", err)
	}
	if cm.Kind != "ConfigMap" || cm.Name != notify.ConfigMapName || cm.Namespace != "" {
		t.Fatalf("catalog.yaml is %s %s/%s, want ConfigMap %s without a namespace (applied to the controller's)", cm.Kind, cm.Namespace, cm.Name, notify.ConfigMapName)
	}
	return &cm
}

// TestCatalog: the engine reads the catalog; it has Argo Rollouts' nine
// triggers, each sending its template whenever run (no condition), and
// every template renders for each sample rollout — with numbers as the API
// server gives them and as JSON gives them — into a message naming the
// rollout, an email subject and a Slack attachment that is valid JSON.
func TestCatalog(t *testing.T) {
	cm := readCatalog(t)
	cfg, err := api.ParseConfig(cm, &corev1.Secret{})
	if err != nil {
		t.Fatalf("the engine refuses the catalog: %v", err)
	}
	for trigger, template := range catalogTriggers {
		c := cfg.Triggers[trigger]
		if len(c) != 1 || c[0].When != "" || !slices.Equal(c[0].Send, []string{template}) {
			t.Errorf("trigger %s = %+v, want one condition sending [%s]", trigger, c, template)
		}
		if _, ok := cfg.Templates[template]; !ok {
			t.Errorf("template %s (of %s) is missing", template, trigger)
		}
	}
	if len(cfg.Triggers) != len(catalogTriggers) || len(cfg.Templates) != len(catalogTriggers) {
		t.Errorf("%d triggers and %d templates, want %d of each", len(cfg.Triggers), len(cfg.Templates), len(catalogTriggers))
	}

	var run v1alpha1.AnalysisRun
	if err := yaml.UnmarshalStrict([]byte(catalogRun), &run); err != nil {
		t.Fatal(err)
	}
	runs := func(namespace, podHash string) ([]v1alpha1.AnalysisRun, error) {
		if namespace == run.Namespace && podHash == run.Labels[v1alpha1.DefaultRolloutUniqueLabelKey] {
			return []v1alpha1.AnalysisRun{run}, nil
		}
		return nil, nil
	}
	getVars, err := notify.TemplateVars(runs)(cfg, cm, &corev1.Secret{})
	if err != nil {
		t.Fatal(err)
	}
	a, err := api.NewAPI(*cfg, getVars)
	if err != nil {
		t.Fatalf("the engine cannot build the catalog's templates and triggers: %v", err)
	}
	rec := &recorder{}
	a.AddNotificationService("recorder", rec)

	for _, doc := range catalogRollouts {
		var fromJSON map[string]any
		if err := yaml.Unmarshal([]byte(doc), &fromJSON); err != nil {
			t.Fatal(err)
		}
		var ro v1alpha1.Rollout
		if err := yaml.UnmarshalStrict([]byte(doc), &ro); err != nil {
			t.Fatal(err)
		}
		fromServer, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&ro)
		if err != nil {
			t.Fatal(err)
		}
		for form, obj := range map[string]map[string]any{"JSON": fromJSON, "API server": fromServer} {
			for trigger, template := range catalogTriggers {
				t.Run(ro.Name+"/"+form+"/"+template, func(t *testing.T) {
					res, err := a.RunTrigger(trigger, obj)
					if err != nil || len(res) != 1 || !slices.Equal(res[0].Templates, []string{template}) {
						t.Fatalf("RunTrigger(%s) = %+v, %v", trigger, res, err)
					}
					rec.sent = nil
					if err := a.Send(obj, []string{template}, services.Destination{Service: "recorder", Recipient: "x"}); err != nil {
						t.Fatalf("render: %v", err)
					}
					checkRendered(t, &ro, template, rec.sent[0], ro.Name == "checkout")
				})
			}
		}
	}
}

func checkRendered(t *testing.T, ro *v1alpha1.Rollout, template string, n services.Notification, withRun bool) {
	t.Helper()
	for what, text := range map[string]string{"message": n.Message, "email subject": n.Email.Subject, "slack attachments": n.Slack.Attachments} {
		if !strings.Contains(text, ro.Name) {
			t.Errorf("%s does not name the rollout: %q", what, text)
		}
		if strings.Contains(text, "<no value>") || strings.Contains(text, "%!") {
			t.Errorf("%s shows a missing value: %q", what, text)
		}
	}
	var attachments []struct {
		Title, Color, Text string
		Fields             []struct {
			Title, Value string
			Short        bool
		}
	}
	if err := json.Unmarshal([]byte(n.Slack.Attachments), &attachments); err != nil || len(attachments) != 1 {
		t.Fatalf("slack attachments are not one JSON attachment (%v):\n%s", err, n.Slack.Attachments)
	}
	at := attachments[0]
	fields := map[string]string{}
	for _, f := range at.Fields {
		fields[f.Title] = f.Value
	}
	if at.Title != ro.Name || at.Color == "" || at.Text == "" || fields["Namespace"] != ro.Namespace {
		t.Errorf("attachment %+v", at)
	}
	for _, c := range ro.Spec.Template.Spec.Containers {
		if fields[c.Name] != c.Image {
			t.Errorf("attachment fields %v lack container %s's image %s", fields, c.Name, c.Image)
		}
	}
	strategy := "canary"
	if ro.Spec.Strategy.BlueGreen != nil {
		strategy = "blue-green"
	}
	if fields["Strategy"] != strategy || fields["Revision"] != ro.Annotations[v1alpha1.RevisionAnnotation] {
		t.Errorf("attachment fields %v, want strategy %s revision %q", fields, strategy, ro.Annotations[v1alpha1.RevisionAnnotation])
	}
	switch template {
	case "rollout-step-completed":
		if ro.Name == "checkout" && !strings.Contains(n.Message, "step 2 of 3") {
			t.Errorf("message %q, want step 2 of 3 (the step at index 1)", n.Message)
		}
	case "rollout-aborted":
		if ro.Status.Message != "" && !strings.Contains(n.Message, ro.Status.Message) {
			t.Errorf("message %q lacks the rollout's status message", n.Message)
		}
	case "analysis-run-running", "analysis-run-error", "analysis-run-failed":
		if withRun && fields["AnalysisRun"] != "checkout-5d8f7c9b4-4-1" {
			t.Errorf("attachment fields %v do not name the current AnalysisRun", fields)
		}
		if !withRun && fields["AnalysisRun"] != "" {
			t.Errorf("attachment fields %v name a run the rollout does not have", fields)
		}
		if template != "analysis-run-running" && withRun && !strings.Contains(n.Message, `metric "errors" assessed Failed`) {
			t.Errorf("message %q lacks the run's message", n.Message)
		}
	}
}

// TestCatalogPatchesTheInstall: the catalog patches the install's
// ConfigMap, as docs/notifications.md has users apply it: an overlay of
// either install listing it under patches gets the catalog's keys in the
// install's ConfigMap, in the install's namespace.
func TestCatalogPatchesTheInstall(t *testing.T) {
	catalog, err := os.ReadFile(filepath.Join(root, "manifests", "notifications", "catalog.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	want := readCatalog(t).Data
	fsys, err := inMemory(filepath.Join(root, "manifests"), render(t, Config{}).CRDs)
	if err != nil {
		t.Fatal(err)
	}
	for base, namespace := range map[string]string{"cluster-install": "aviary", "namespace-install": ""} {
		dir := "/overlays/catalog-" + base
		if err := fsys.MkdirAll(dir); err != nil {
			t.Fatal(err)
		}
		kustomization := "resources: [../../manifests/" + base + "]\npatches: [{path: catalog.yaml}]\n"
		if err := fsys.WriteFile(dir+"/kustomization.yaml", []byte(kustomization)); err != nil {
			t.Fatal(err)
		}
		if err := fsys.WriteFile(dir+"/catalog.yaml", catalog); err != nil {
			t.Fatal(err)
		}
		m, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(fsys, dir)
		if err != nil {
			t.Fatalf("%s with the catalog as a patch: %v", base, err)
		}
		data, err := m.AsYaml()
		if err != nil {
			t.Fatal(err)
		}
		var cm corev1.ConfigMap
		find(t, objects(t, data), "ConfigMap", notify.ConfigMapName, &cm)
		if cm.Namespace != namespace || !maps.Equal(cm.Data, want) {
			t.Errorf("%s patched with the catalog: ConfigMap in %q with %d keys, want the catalog's %d in %q", base, cm.Namespace, len(cm.Data), len(want), namespace)
		}
	}
}
