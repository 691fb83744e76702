package lint

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// seeds are the project's examples; every one must pass lint, as
// examples/README.md promises users.
const seeds = "../../../examples"

func TestSeedsPass(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(seeds, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples in %s: %v", seeds, err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			for _, f := range Check(read(t, file)) {
				t.Error(f)
			}
		})
	}
}

func TestValidFilesPass(t *testing.T) {
	// valid-rollout-only.yaml names Services and an Ingress the file does
	// not hold, and no object of those kinds: a Rollout-only manifest.
	// valid-experiment-step.yaml is Argo Rollouts' documented experiment
	// step; valid-experiment.yaml a standalone Experiment; valid-plugins.yaml
	// a traffic-router plugin and a step plugin.
	for _, name := range []string{"valid-nginx.yaml", "valid-rollout-only.yaml", "valid-rollout-only.json", "valid-experiment-step.yaml", "valid-experiment.yaml", "valid-plugins.yaml",
		"valid-ambassador.yaml", "valid-alb.yaml", "valid-apisix.yaml", "valid-appmesh.yaml"} {
		t.Run(name, func(t *testing.T) {
			for _, f := range Check(read(t, filepath.Join("testdata", name))) {
				t.Error(f)
			}
		})
	}
}

func TestBrokenFilesRejected(t *testing.T) {
	const ro = `document 1 (Rollout "demo"): `
	const exp = `document 1 (Experiment "demo-experiment"): `
	cases := []struct {
		file string
		want []string // each finding's String(), in order
	}{
		{"invalid-unknown-field.yaml", []string{ro + "spec.strategy.canary.trafficRouting.nginx.unknownRouterField: unknown field: " +
			"the API has no such field, so it would be ignored; correct its spelling or indentation, or remove it"}},
		{"invalid-setweight-150.yaml", []string{ro + "spec.strategy.canary.steps[0].setWeight: Invalid value: 150: must be between 0 and 100 (maxTrafficWeight)"}},
		{"invalid-setweight-150.json", []string{ro + "spec.strategy.canary.steps[0].setWeight: Invalid value: 150: must be between 0 and 100 (maxTrafficWeight)"}},
		{"invalid-nginx-no-stable-service.yaml", []string{ro + "spec.strategy.canary.stableService: Required value: " +
			"trafficRouting needs both canaryService and stableService (or pingPong)"}},
		{"invalid-ingress-no-stable-rule.yaml", []string{ro + `spec.strategy.canary.trafficRouting.nginx.stableIngress: ingress "demo" has no rules using service "demo-stable" backend: ` +
			"add a path whose backend is the stable Service"}},
		{"invalid-alb-no-root-path.yaml", []string{ro + `spec.strategy.canary.trafficRouting.alb.ingress: Ingress "demo" has no path to Service "demo-stable", ` +
			"whose action carries the weights: add a rule with that backend, or set alb.rootService to the Service it routes to"}},
		{"invalid-header-route-not-managed.yaml", []string{ro + `spec.strategy.canary.steps[0].setHeaderRoute.name: Invalid value: "header-route": ` +
			"must be listed in spec.strategy.canary.trafficRouting.managedRoutes"}},
		{"invalid-bluegreen-no-active.yaml", []string{ro + "spec.strategy.blueGreen.activeService: Required value: name the Service that sends users to the active version"}},
		{"invalid-missing-service.yaml", []string{ro + `spec.strategy.canary.canaryService: Service "demo-canary" is not in this file, which has other Services: add it or correct the name`}},
		{"invalid-service-selector.yaml", []string{
			ro + `spec.strategy.canary.canaryService: Service "demo-canary" selects app=other, which the pod template's labels do not carry, so it would reach none of the Rollout's pods: ` +
				"add the label to spec.template.metadata.labels or change the Service's selector",
			ro + `spec.strategy.canary.stableService: Service "demo-stable" selects app=other, which the pod template's labels do not carry, so it would reach none of the Rollout's pods: ` +
				"add the label to spec.template.metadata.labels or change the Service's selector",
		}},
		{"invalid-istio-route-missing.yaml", []string{ro + `spec.strategy.canary.trafficRouting.istio.virtualService.routes[0]: VirtualService /demo has no HTTP route named "primary": ` +
			"give the route that name in spec.http, or correct the name"}},
		{"invalid-traefik-no-canary-entry.yaml", []string{ro + `spec.strategy.canary.trafficRouting.traefik.weightedTraefikServiceName: TraefikService demo: ` +
			`no entry for the canary Service "demo-canary" in spec.weighted.services: list both Services under spec.weighted.services`}},
		{"invalid-ambassador-weighted-mapping.yaml", []string{ro + `spec.strategy.canary.trafficRouting.ambassador.mappings[0]: Mapping "demo" defines spec.weight 100: ` +
			`remove it; the rollout weighs the canary clone "demo-canary" against it and the Mapping takes the rest`}},
		{"invalid-apisix-no-canary-backend.yaml", []string{ro + `spec.strategy.canary.trafficRouting.apisix.route.rules: ApisixRoute "demo": ` +
			`HTTP rule "demo-rule" has no backend with serviceName "demo-canary": list both the stable and canary Services in its backends`}},
		{"invalid-appmesh-no-canary-target.yaml", []string{ro + `spec.strategy.canary.trafficRouting.appMesh.virtualService.routes: VirtualRouter "demo-router": ` +
			`route "primary" has no weighted target for VirtualNode "demo-canary": list both the canary and stable VirtualNodes in its weightedTargets`}},
		{"invalid-gatewayapi-no-split-rule.yaml", []string{ro + `spec.strategy.canary.trafficRouting.plugins["argoproj-labs/gatewayAPI"].httpRoute: ` +
			`HTTPRoute "demo" in namespace "" has no rule whose backendRefs name both the canary Service "demo-canary" and the stable Service "demo-stable" of namespace "": ` +
			"add both to the rule that should be split, e.g. backendRefs: [{name: demo-stable, port: 80}, {name: demo-canary, port: 80}]"}},
		{"invalid-analysis-arg-missing.yaml", []string{ro + "spec.strategy.canary.steps[0].analysis: the controller could not start this analysis: " +
			"args.service was not resolved (template needs-arg: supply it in the rollout's analysis args)"}},
		// The controller resolves the workloadRef's template before it
		// validates; lint does the same with a Deployment in the file.
		{"invalid-workloadref-selector.yaml", []string{ro + `spec.selector: Invalid value: "app=demo": does not match the template labels map[app:other]: ` +
			"make spec.template.metadata.labels satisfy the selector"}},
		// Experiment steps are checked by the controller's validation.
		{"invalid-experiment-step.yaml", []string{
			ro + `spec.strategy.canary.steps[0].experiment.templates[0].specRef: Unsupported value: "newest": supported values: "canary", "stable"`,
			ro + "spec.strategy.canary.steps[0].experiment.templates[1].weight: Forbidden: Experiment template weight requires traffic routing: " +
				"configure spec.strategy.canary.trafficRouting (istio, smi or the Gateway API), or remove the weight",
		}},
		// An experiment step's analyses are checked as the controller
		// would start them: templates in the file, arguments supplied.
		{"invalid-experiment-step-analysis.yaml", []string{
			ro + "spec.strategy.canary.steps[0].experiment.analyses[0]: the controller could not start this analysis: " +
				"args.service was not resolved (template needs-arg: supply it in the experiment step's analysis args)",
			ro + `spec.strategy.canary.steps[0].experiment.analyses[1].templateName: AnalysisTemplate "comparison" is not in this file, which has other AnalysisTemplates: add it or correct the name`,
		}},
		// A standalone Experiment: the experiment controller's validation,
		// then its analyses.
		{"invalid-experiment.yaml", []string{
			exp + `spec.templates[0].selector: Invalid value: "app=other": does not match spec.templates[0].template.metadata.labels (app=demo); make the selector select the template's labels`,
			exp + `spec.analyses[0].args[0].value: Invalid value: "{{templates.canary.podTemplatehash}}": failed to resolve {{templates.canary.podTemplatehash}}; ` +
				"use {{templates.<template>.podTemplateHash}}, {{templates.<template>.replicaset.name}}, {{experiment.availableAt}} or, with a duration, {{experiment.finishedAt}}",
			exp + "spec.analyses[0]: the controller could not start this analysis: args.threshold was not resolved (template compare: supply it in the Experiment's analysis args)",
		}},
		// The canary judge's configuration is read as the controller reads
		// it (a window from an argument only once a run supplies it).
		{"invalid-judge.yaml", []string{`document 1 (AnalysisTemplate "judge"): spec.metrics[0]: metric "judge": ` +
			`provider.plugin.aviary-rollouts/judge.metrics[0].query: must contain ${version} where the baseline's or canary's label value goes, e.g. rollouts_pod_template_hash="${version}"; ` +
			`provider.plugin.aviary-rollouts/judge.metrics[0].direction: "higher": write increase (higher is worse), decrease (lower is worse) or either`}},
		{"invalid-template-count-without-interval.yaml", []string{`document 2 (AnalysisTemplate "counted"): spec.metrics[0]: metric "up": count 3 needs an interval between measurements`}},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			var got []string
			for _, f := range Check(read(t, filepath.Join("testdata", c.file))) {
				got = append(got, f.String())
			}
			if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
				t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
		})
	}
}

func TestDocumentsAreNumbered(t *testing.T) {
	// An empty document and a comment-only one are skipped but still
	// counted, so the number matches what an editor shows between ---.
	data := "# header\n---\n" + string(read(t, filepath.Join("testdata", "invalid-setweight-150.yaml")))
	got := Check([]byte(data))
	if len(got) != 1 || got[0].Doc != 2 || got[0].Kind != "Rollout" || got[0].Name != "demo" {
		t.Fatalf("findings %v", got)
	}
}

func TestUnreadableDocuments(t *testing.T) {
	cases := []struct{ data, want string }{
		{"kind: [", "document 1: is not valid YAML"},
		{"apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {ports: oops}\n", `document 1 (Service "s"): cannot be decoded as v1 Service`},
		{"just a string\n", "document 1: is not a Kubernetes object"},
	}
	for _, c := range cases {
		got := Check([]byte(c.data))
		if len(got) != 1 || !strings.HasPrefix(got[0].String(), c.want) {
			t.Errorf("%q: findings %v, want one starting %q", c.data, got, c.want)
		}
	}
}

func read(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// argoExamples pairs each Rollout example Argo Rollouts v1.9 ships
// (examples/, the twenty that are plain YAML; the Helm chart and the
// Linkerd file are templates) with the manifest of ours in
// testdata/argo-examples that uses the same features, written for these
// tests.
var argoExamples = map[string]string{
	"rollout-canary.yaml":               "canary.yaml",
	"rollout-rolling-update.yaml":       "rolling-update.yaml",
	"rollout-bluegreen.yaml":            "bluegreen.yaml",
	"rollout-analysis-step.yaml":        "analysis-step.yaml",
	"rollout-background-analysis.yaml":  "background-analysis.yaml",
	"rollout-experiment-step.yaml":      "experiment-step.yaml",
	"rollout-baseline-vs-canary.yaml":   "baseline-vs-canary.yaml",
	"rollout-canary-preview.yaml":       "canary-preview.yaml",
	"rollout-secret.yaml":               "analysis-secret.yaml",
	"rollout-template-ref.yaml":         "template-ref.yaml",
	"workload-ref/workload-ref.yaml":    "workload-ref.yaml",
	"notifications/rollout-canary.yaml": "notifications.yaml",
	"istio/istio-mirror.yaml":           "istio-mirror.yaml",
	"istio/istio-subset-split.yaml":     "istio-subset-split.yaml",
	"traffic-routing-experiment-step/istio-host-split-experiment-step.yaml": "istio-experiment-step.yaml",
	"traffic-routing-experiment-step/rollout-alb-experiment-step.yaml":      "alb-experiment-step.yaml",
	"traffic-routing-experiment-step/rollout-smi-experiment-step.yaml":      "smi-experiment-step.yaml",
	"ambassador/rollout.yaml":     "ambassador.yaml",
	"apisix/rollout.yaml":         "apisix.yaml",
	"appmesh/canary-rollout.yaml": "appmesh.yaml",
}

// TestArgoExampleEquivalentsPass: what Argo Rollouts' examples use — every
// router, analysis, experiments, workloadRef, notifications — passes lint,
// as kubectl argo rollouts lint passes the examples themselves; and there
// is no manifest in testdata/argo-examples the table does not name.
func TestArgoExampleEquivalentsPass(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "argo-examples", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	ours := map[string]bool{}
	for _, f := range argoExamples {
		ours[f] = true
	}
	if len(argoExamples) != 20 || len(ours) != 20 || len(files) != 20 {
		t.Fatalf("%d examples mapped to %d manifests, %d manifests on disk; want 20 of each", len(argoExamples), len(ours), len(files))
	}
	for _, file := range files {
		name := filepath.Base(file)
		t.Run(name, func(t *testing.T) {
			if !ours[name] {
				t.Fatalf("%s stands for none of Argo Rollouts' examples", name)
			}
			data := read(t, file)
			if !strings.Contains(string(data), "\nkind: Rollout\n") {
				t.Fatalf("%s has no Rollout", name)
			}
			for _, f := range Check(data) {
				t.Error(f)
			}
		})
	}
}
