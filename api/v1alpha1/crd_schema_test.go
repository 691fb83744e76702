package v1alpha1_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	crdvalidation "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/validation"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	apiservervalidation "k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"sigs.k8s.io/yaml"
)

// These tests run the API server's own CRD code (no cluster): CRD
// validation, including CEL compilation and cost estimation, and then, per
// object, pruning, defaulting, schema validation and CEL rules, in the order
// the API server applies them.

var crdFiles = map[string]string{
	"Rollout":                 "argoproj.io_rollouts.yaml",
	"AnalysisTemplate":        "argoproj.io_analysistemplates.yaml",
	"ClusterAnalysisTemplate": "argoproj.io_clusteranalysistemplates.yaml",
	"AnalysisRun":             "argoproj.io_analysisruns.yaml",
	"Experiment":              "argoproj.io_experiments.yaml",
}

type crdSchema struct {
	internal   *apiextensions.CustomResourceDefinition
	structural *structuralschema.Structural
	validator  apiservervalidation.SchemaValidator
	rules      *cel.Validator
}

func loadCRD(t *testing.T, kind string) *crdSchema {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot(t), "config", "crd", crdFiles[kind]))
	if err != nil {
		t.Fatal(err)
	}
	var crd apiextensionsv1.CustomResourceDefinition
	if err := yaml.UnmarshalStrict(data, &crd); err != nil {
		t.Fatalf("%s: %v", crdFiles[kind], err)
	}
	apiextensionsv1.SetObjectDefaults_CustomResourceDefinition(&crd)
	var internal apiextensions.CustomResourceDefinition
	if err := apiextensionsv1.Convert_v1_CustomResourceDefinition_To_apiextensions_CustomResourceDefinition(&crd, &internal, nil); err != nil {
		t.Fatal(err)
	}
	// The internal form hoists a schema shared by all versions to spec.validation.
	if len(internal.Spec.Versions) != 1 || internal.Spec.Validation == nil {
		t.Fatalf("%s: want exactly one version with a schema", kind)
	}
	props := internal.Spec.Validation.OpenAPIV3Schema
	structural, err := structuralschema.NewStructural(props)
	if err != nil {
		t.Fatalf("%s: not a structural schema: %v", kind, err)
	}
	validator, _, err := apiservervalidation.NewSchemaValidator(props)
	if err != nil {
		t.Fatal(err)
	}
	return &crdSchema{
		internal:   &internal,
		structural: structural,
		validator:  validator,
		rules:      cel.NewValidator(structural, true, celconfig.PerCallLimit),
	}
}

// admission is what the API server would make of an object.
type admission struct {
	stored map[string]any // after pruning and defaulting
	pruned []string       // paths of dropped unknown fields
	errs   field.ErrorList
}

func (s *crdSchema) admit(t *testing.T, obj, old map[string]any) admission {
	t.Helper()
	stored := deepCopyJSON(t, obj)
	pruned := pruning.PruneWithOptions(stored, s.structural, true, structuralschema.UnknownFieldPathOptions{TrackUnknownFieldPaths: true})
	defaulting.Default(stored, s.structural)
	errs := apiservervalidation.ValidateCustomResource(nil, stored, s.validator)
	var oldStored any
	if old != nil {
		o := deepCopyJSON(t, old)
		pruning.Prune(o, s.structural, true)
		defaulting.Default(o, s.structural)
		oldStored = o
	}
	celErrs, _ := s.rules.Validate(context.Background(), nil, s.structural, stored, oldStored, celconfig.RuntimeCELCostBudget)
	return admission{stored: stored, pruned: pruned, errs: append(errs, celErrs...)}
}

func deepCopyJSON(t *testing.T, in map[string]any) map[string]any {
	t.Helper()
	data, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	return mustJSONMap(t, data)
}

// TestCRDsPassAPIServerValidation runs the validation the API server applies
// when a CRD is created: structural schema, list-map keys, and the
// compilation and estimated cost of every CEL rule.
func TestCRDsPassAPIServerValidation(t *testing.T) {
	for kind := range crdFiles {
		t.Run(kind, func(t *testing.T) {
			s := loadCRD(t, kind)
			if errs := crdvalidation.ValidateCustomResourceDefinition(context.Background(), s.internal); len(errs) > 0 {
				t.Errorf("the API server would reject the %s CRD:\n%s", kind, errs.ToAggregate())
			}
		})
	}
}

// TestSeedsAreAdmittedUnchanged: every seed object of ours passes schema
// validation and the CEL rules, and the API server would store it exactly
// as written: nothing pruned, nothing defaulted.
func TestSeedsAreAdmittedUnchanged(t *testing.T) {
	schemas := map[string]*crdSchema{}
	for _, d := range seedDocs(t) {
		if d.apiVersion() != "argoproj.io/v1alpha1" {
			continue
		}
		s := schemas[d.kind()]
		if s == nil {
			s = loadCRD(t, d.kind())
			schemas[d.kind()] = s
		}
		a := s.admit(t, d.obj, nil)
		if len(a.errs) > 0 {
			t.Errorf("%s: %s rejected:\n%s", d.where, d.kind(), a.errs.ToAggregate())
		}
		if len(a.pruned) > 0 {
			t.Errorf("%s: the schema prunes fields of this %s: %s", d.where, d.kind(), strings.Join(a.pruned, ", "))
		}
		if diffs := diffJSON(d.obj, a.stored); len(diffs) > 0 {
			t.Errorf("%s: stored differently from the manifest:\n  %s", d.where, strings.Join(diffs, "\n  "))
		}
	}
}

const rolloutHead = `
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: demo}
spec:
  replicas: 2
  selector: {matchLabels: {app: demo}}
  template:
    metadata: {labels: {app: demo}}
    spec:
      containers: [{name: app, image: nginx}]
`

const templateHead = `
apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata: {name: demo}
spec:
  metrics:
  - name: m
`

func TestValidationRules(t *testing.T) {
	cases := []struct {
		name    string
		kind    string
		obj     string
		old     string // for update rules
		wantErr string // substring of the error; empty means admitted
	}{
		{
			name: "every canary step type, one per step",
			kind: "Rollout",
			obj: rolloutHead + `
  strategy:
    canary:
      canaryService: c
      stableService: s
      trafficRouting:
        managedRoutes: [{name: hdr}, {name: mirror}]
        istio: {virtualService: {name: vs}}
        plugins: {"acme/router": {any: [1, {deep: true}]}}
      steps:
      - setWeight: 5
      - pause: {}
      - pause: {duration: 30}
      - pause: {duration: "30"}
      - pause: {duration: 1h}
      - analysis: {templates: [{templateName: t}]}
      - experiment: {templates: [{name: e, specRef: canary}], duration: 5m}
      - setCanaryScale: {replicas: 1}
      - setHeaderRoute: {name: hdr, match: [{headerName: X-Canary, headerValue: {exact: always}}]}
      - setMirrorRoute: {name: mirror, percentage: 50, match: [{method: {exact: GET}}]}
      - plugin: {name: acme/step, config: {anything: [goes]}}`,
		},
		{
			name: "a step with two actions",
			kind: "Rollout",
			obj: rolloutHead + `
  strategy:
    canary:
      steps:
      - setWeight: 20
        pause: {duration: 10s}`,
			wantErr: "spec.strategy.canary.steps[0]: Invalid value: each canary step must set exactly one of setWeight, pause",
		},
		{
			name: "an empty step",
			kind: "Rollout",
			obj: rolloutHead + `
  strategy:
    canary:
      steps:
      - setWeight: 20
      - {}`,
			wantErr: "spec.strategy.canary.steps[1]: Invalid value: each canary step must set exactly one",
		},
		{
			name: "header route next to a weight",
			kind: "Rollout",
			obj: rolloutHead + `
  strategy:
    canary:
      steps:
      - setWeight: 20
        setHeaderRoute: {name: hdr}`,
			wantErr: "put each action in its own list item under spec.strategy.canary.steps",
		},
		{
			name: "two actions late in the list",
			kind: "Rollout",
			obj: rolloutHead + `
  strategy:
    canary:
      steps:
      - setMirrorRoute: {name: m}
        plugin: {name: p}`,
			wantErr: "spec.strategy.canary.steps[0]: Invalid value: each canary step must set exactly one",
		},
		{
			name: "both strategies",
			kind: "Rollout",
			obj: rolloutHead + `
  strategy:
    canary: {}
    blueGreen: {activeService: a}`,
			wantErr: "spec.strategy: Invalid value: spec.strategy sets both canary and blueGreen: keep exactly one of them",
		},
		{
			name: "blue-green alone",
			kind: "Rollout",
			obj: rolloutHead + `
  strategy:
    blueGreen: {activeService: a, previewService: p, autoPromotionEnabled: false, maxUnavailable: "50%"}`,
		},
		{
			name: "setWeight is an integer",
			kind: "Rollout",
			obj: rolloutHead + `
  strategy:
    canary:
      steps: [{setWeight: abc}]`,
			wantErr: `spec.strategy.canary.steps[0].setWeight: Invalid value: "string"`,
		},
		{
			name: "maxSurge takes an integer or a string",
			kind: "Rollout",
			obj: rolloutHead + `
  strategy:
    canary: {maxSurge: "25%", maxUnavailable: 0}`,
		},
		{
			name: "maxSurge rejects a boolean",
			kind: "Rollout",
			obj: rolloutHead + `
  strategy:
    canary: {maxSurge: true}`,
			wantErr: "spec.strategy.canary.maxSurge",
		},
		{
			name: "pause duration rejects an object",
			kind: "Rollout",
			obj: rolloutHead + `
  strategy:
    canary:
      steps: [{pause: {duration: {seconds: 3}}}]`,
			wantErr: "spec.strategy.canary.steps[0].pause.duration",
		},
		{
			name: "selector is immutable",
			kind: "Rollout",
			obj: rolloutHead + `
  strategy: {canary: {}}`,
			old: strings.Replace(rolloutHead, "app: demo}}\n  template", "app: old}}\n  template", 1) + `
  strategy: {canary: {}}`,
			wantErr: "spec.selector: Invalid value: spec.selector is immutable",
		},
		{
			name: "an unchanged selector may be updated around",
			kind: "Rollout",
			obj: rolloutHead + `
  paused: true
  strategy: {canary: {}}`,
			old: rolloutHead + `
  strategy: {canary: {}}`,
		},
		{
			name: "workloadRef without template or selector",
			kind: "Rollout",
			obj: `
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: demo}
spec:
  workloadRef: {apiVersion: apps/v1, kind: Deployment, name: d, scaleDown: onsuccess}
  strategy: {canary: {steps: [{setWeight: 10}]}}`,
		},
		{
			name:    "a provider with two backends",
			kind:    "AnalysisTemplate",
			obj:     templateHead + `    provider: {prometheus: {query: up}, web: {url: "http://x"}}`,
			wantErr: "spec.metrics[0].provider: Invalid value: a metric's provider must set exactly one of prometheus",
		},
		{
			name:    "a provider with no backend",
			kind:    "AnalysisTemplate",
			obj:     templateHead + `    provider: {}`,
			wantErr: "keep one provider here and move any other into a metric of its own",
		},
		{
			name: "a plugin provider with free-form config",
			kind: "AnalysisTemplate",
			obj:  templateHead + `    provider: {plugin: {"acme/metrics": {query: up, thresholds: [1, 2]}}}`,
		},
		{
			name: "every provider alone",
			kind: "AnalysisTemplate",
			obj: `
apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata: {name: demo}
spec:
  args: [{name: a}, {name: s, valueFrom: {secretKeyRef: {name: sec, key: k}}}]
  metrics:
  - {name: p, count: "{{args.a}}", failureLimit: 3, provider: {prometheus: {address: http://p, query: up, timeout: 5, headers: [{key: k, value: v}], rangeQuery: {start: "now() - duration('5m')", end: now(), step: 1m}, authentication: {sigv4: {region: r}, oauth2: {tokenUrl: u, clientId: i, clientSecret: s, scopes: [a]}, basicAuth: {username: u, password: p}}}}}
  - {name: w, provider: {web: {method: POST, url: "http://w", jsonBody: {a: [1]}, timeoutSeconds: 20, jsonPath: "{$.ok}"}}}
  - {name: k, provider: {kayenta: {address: a, application: b, canaryConfigName: c, metricsAccountName: d, configurationAccountName: e, storageAccountName: f, threshold: {pass: 90, marginal: 75}, scopes: [{name: s, controlScope: {scope: x, region: r, step: 60}, experimentScope: {scope: z, region: r, step: 60}}]}}}
  - {name: d, provider: {datadog: {apiVersion: v2, queries: {a: q}, formula: a, aggregator: avg, requestTimeout: 30s}}}
  - {name: nr, provider: {newRelic: {query: q, timeout: 10}}}
  - {name: wf, provider: {wavefront: {address: a, query: q}}}
  - {name: g, provider: {graphite: {address: a, query: q}}}
  - {name: i, provider: {influxdb: {query: q}}}
  - {name: sw, provider: {skywalking: {address: a, query: q, interval: 3m}}}
  - {name: cw, provider: {cloudWatch: {interval: 5m, metricDataQueries: [{id: a, expression: b, period: 300, metricStat: {metric: {metricName: m, namespace: ns, dimensions: [{name: x, value: v}]}, period: "60", stat: Average}}]}}}
  - {name: j, provider: {job: {spec: {template: {spec: {containers: [{name: c, image: i}], restartPolicy: Never}}}}}}`,
		},
		{
			name:    "a cluster template is checked the same way",
			kind:    "ClusterAnalysisTemplate",
			obj:     strings.Replace(templateHead, "kind: AnalysisTemplate", "kind: ClusterAnalysisTemplate", 1) + `    provider: {}`,
			wantErr: "a metric's provider must set exactly one",
		},
		{
			name: "an analysis run is checked the same way",
			kind: "AnalysisRun",
			obj: `
apiVersion: argoproj.io/v1alpha1
kind: AnalysisRun
metadata: {name: demo}
spec:
  metrics: [{name: m, provider: {job: {spec: {template: {spec: {containers: [{name: c, image: i}], restartPolicy: Never}}}}, web: {url: u}}}]`,
			wantErr: "spec.metrics[0].provider: Invalid value",
		},
		{
			name: "an experiment",
			kind: "Experiment",
			obj: `
apiVersion: argoproj.io/v1alpha1
kind: Experiment
metadata: {name: demo}
spec:
  duration: 5m
  templates:
  - name: baseline
    selector: {matchLabels: {app: b}}
    template:
      metadata: {labels: {app: b}}
      spec: {containers: [{name: c, image: i}]}
  analyses: [{name: a, templateName: t, requiredForCompletion: true}]`,
		},
	}
	schemas := map[string]*crdSchema{}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := schemas[tc.kind]
			if s == nil {
				s = loadCRD(t, tc.kind)
				schemas[tc.kind] = s
			}
			var old map[string]any
			if tc.old != "" {
				old = yamlObj(t, tc.old)
			}
			a := s.admit(t, yamlObj(t, tc.obj), old)
			got := ""
			if len(a.errs) > 0 {
				got = a.errs.ToAggregate().Error()
			}
			switch {
			case tc.wantErr == "" && got != "":
				t.Errorf("want it admitted, got: %s", got)
			case tc.wantErr != "" && !strings.Contains(got, tc.wantErr):
				t.Errorf("want an error containing\n  %s\ngot\n  %s", tc.wantErr, got)
			}
			if tc.wantErr == "" && len(a.pruned) > 0 {
				t.Errorf("fields pruned: %s", strings.Join(a.pruned, ", "))
			}
		})
	}
}

// TestStoredShape pins what the API server keeps and adds inside embedded
// pod templates, Job metrics and providers, which must match Argo Rollouts
// v1.9's CRDs because the pod-template hash is computed over the stored
// template.
func TestStoredShape(t *testing.T) {
	rollout := loadCRD(t, "Rollout")
	a := rollout.admit(t, yamlObj(t, `
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: demo}
spec:
  selector: {matchLabels: {app: demo}}
  strategy: {canary: {}}
  template:
    metadata:
      name: dropped-as-in-argo-rollouts
      labels: {app: demo}
      annotations: {a: b}
    spec:
      containers:
      - name: app
        image: nginx
        ports: [{containerPort: 8080}]
        resources: {requests: {cpu: 0.5, memory: 64Mi}, limits: {cpu: 1}}
      volumes:
      - name: disk
        azureDisk: {diskName: d, diskURI: u}
`), nil)
	if len(a.errs) > 0 {
		t.Fatal(a.errs.ToAggregate())
	}
	if got := strings.Join(a.pruned, ","); got != "spec.template.metadata.name" {
		t.Errorf("pruned %q, want only spec.template.metadata.name (template metadata keeps labels and annotations)", got)
	}
	tmpl := a.stored["spec"].(map[string]any)["template"].(map[string]any)
	podSpec := tmpl["spec"].(map[string]any)
	port := podSpec["containers"].([]any)[0].(map[string]any)["ports"].([]any)[0].(map[string]any)
	if port["protocol"] != "TCP" {
		t.Errorf("ports[0].protocol = %v, want TCP defaulted as the Argo Rollouts v1.9 CRD does", port["protocol"])
	}
	// Deployments and Argo Rollouts accept a fractional CPU written as a number.
	res := podSpec["containers"].([]any)[0].(map[string]any)["resources"].(map[string]any)
	if cpu := res["requests"].(map[string]any)["cpu"]; cpu != 0.5 {
		t.Errorf("requests.cpu stored as %v, want 0.5 unchanged", cpu)
	}
	disk := podSpec["volumes"].([]any)[0].(map[string]any)["azureDisk"].(map[string]any)
	if len(disk) != 2 {
		t.Errorf("azureDisk = %v: volume defaults must not be applied (Argo Rollouts does not)", disk)
	}
	if _, ok := a.stored["spec"].(map[string]any)["replicas"]; ok {
		t.Error("spec.replicas was defaulted by the schema; defaults belong in code")
	}

	tmplCRD := loadCRD(t, "AnalysisTemplate")
	a = tmplCRD.admit(t, yamlObj(t, templateHead+`
    provider:
      datadog: {query: q}
  - name: j
    provider:
      job:
        metadata: {labels: {a: b}, annotations: {c: d}}
        spec:
          template:
            metadata: {labels: {e: f}}
            spec: {containers: [{name: c, image: i}], restartPolicy: Never}
`), nil)
	if len(a.errs) > 0 || len(a.pruned) > 0 {
		t.Fatalf("errors %v, pruned %v", a.errs.ToAggregate(), a.pruned)
	}
	dd := a.stored["spec"].(map[string]any)["metrics"].([]any)[0].(map[string]any)["provider"].(map[string]any)["datadog"].(map[string]any)
	if dd["interval"] != "5m" || dd["apiVersion"] != "v1" {
		t.Errorf("datadog = %v, want interval 5m and apiVersion v1 defaulted as in Argo Rollouts", dd)
	}
}
