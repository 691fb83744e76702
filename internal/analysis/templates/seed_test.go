package templates

import (
	"errors"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// seedPath is seed 06, in the project's examples.
const seedPath = "../../../examples/06-analysis-forms.yaml"

// seed is the content of seed 06: its Rollouts, AnalysisTemplates and
// Secret data.
type seed struct {
	rollouts  map[string]*v1alpha1.Rollout
	templates map[string]*v1alpha1.AnalysisTemplateSpec
	secrets   map[string]map[string]string
}

func loadSeed(t *testing.T) seed {
	t.Helper()
	data, err := os.ReadFile(seedPath)
	if err != nil {
		t.Fatalf("seed 06 must sit next to the repository: %v", err)
	}
	s := seed{rollouts: map[string]*v1alpha1.Rollout{}, templates: map[string]*v1alpha1.AnalysisTemplateSpec{}, secrets: map[string]map[string]string{}}
	for _, doc := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(data), -1) {
		var head struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
			StringData map[string]string `json:"stringData"`
		}
		if err := yaml.Unmarshal([]byte(doc), &head); err != nil {
			t.Fatal(err)
		}
		switch head.Kind {
		case "Rollout":
			var ro v1alpha1.Rollout
			if err := yaml.UnmarshalStrict([]byte(doc), &ro); err != nil {
				t.Fatal(err)
			}
			s.rollouts[head.Metadata.Name] = &ro
		case "AnalysisTemplate":
			var at v1alpha1.AnalysisTemplate
			if err := yaml.UnmarshalStrict([]byte(doc), &at); err != nil {
				t.Fatal(err)
			}
			s.templates[head.Metadata.Name] = &at.Spec
		case "Secret":
			s.secrets[head.Metadata.Name] = head.StringData
		}
	}
	return s
}

func (s seed) lookup(name string, clusterScope bool) (*v1alpha1.AnalysisTemplateSpec, error) {
	if spec, ok := s.templates[name]; ok && !clusterScope {
		return spec, nil
	}
	return nil, errNotFound
}

// resolver reads secretKeyRefs from the seed's Secrets, as the controller
// does from the run's namespace.
func (s seed) resolver(arg v1alpha1.Argument) (string, error) {
	ref := arg.ValueFrom.SecretKeyRef
	if v, ok := s.secrets[ref.Name][ref.Key]; ok {
		return v, nil
	}
	return "", errors.New("no such secret key")
}

// rolloutArgs stands in for the rollout side, which resolves
// podTemplateHashValue and fieldRef arguments before building.
func rolloutArgs(ro *v1alpha1.Rollout, args []v1alpha1.AnalysisRunArgument) []v1alpha1.Argument {
	var out []v1alpha1.Argument
	for _, a := range args {
		v := a.Value
		switch {
		case a.ValueFrom == nil:
		case a.ValueFrom.PodTemplateHashValue != nil && *a.ValueFrom.PodTemplateHashValue == v1alpha1.Stable:
			v = "stable0hash"
		case a.ValueFrom.PodTemplateHashValue != nil:
			v = "latest0hash"
		case a.ValueFrom.FieldRef != nil:
			key := strings.TrimSuffix(strings.TrimPrefix(a.ValueFrom.FieldRef.FieldPath, "metadata.labels['"), "']")
			v = ro.Labels[key]
		}
		out = append(out, v1alpha1.Argument{Name: a.Name, Value: &v})
	}
	return out
}

func TestSeedBackgroundAnalysisMergesTwoTemplates(t *testing.T) {
	s := loadSeed(t)
	ro := s.rollouts["guestbook"]
	analysis := ro.Spec.Strategy.Canary.Analysis.RolloutAnalysis
	spec, err := Build(Request{Templates: analysis.Templates, Args: rolloutArgs(ro, analysis.Args)}, s.lookup)
	if err != nil {
		t.Fatal(err)
	}
	if len(spec.Metrics) != 2 || spec.Metrics[0].Name != "success-rate" || spec.Metrics[1].Name != "error-rate" {
		t.Fatalf("metrics %+v", spec.Metrics)
	}
	if len(spec.Args) != 1 || *spec.Args[0].Value != "guestbook-svc.default.svc.cluster.local" {
		t.Fatalf("args %+v", spec.Args)
	}
	metrics, err := RunMetrics(spec)
	if err != nil {
		t.Fatal(err)
	}
	if n, bounded := metrics[0].EffectiveCount(); bounded || metrics[0].Interval != 5*time.Minute || metrics[0].FailureLimit != 3 || *metrics[0].ConsecutiveErrorLimit != 4 {
		t.Errorf("success-rate parsed as %+v (count %d bounded %v)", metrics[0], n, bounded)
	}
	resolved, secrets, err := ResolveMetric(spec.Metrics[0], spec.Args, s.resolver)
	if err != nil || secrets != nil {
		t.Fatal(err, secrets)
	}
	// The tag sits between literal quotes in the query; they must survive.
	if q := resolved.Provider.Prometheus.Query; !strings.Contains(q, `destination_service=~"guestbook-svc.default.svc.cluster.local",response_code!~"5.*"`) {
		t.Errorf("query %s", q)
	}
	if s.templates["success-rate"].Metrics[0].Provider.Prometheus.Query == resolved.Provider.Prometheus.Query {
		t.Error("the template itself must not change")
	}
}

func TestSeedInlineStepWithSecretAndHashes(t *testing.T) {
	s := loadSeed(t)
	ro := s.rollouts["guestbook-inline"]
	step := ro.Spec.Strategy.Canary.Steps[2].Analysis
	spec, err := Build(Request{Templates: step.Templates, Args: rolloutArgs(ro, step.Args)}, s.lookup)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"service-name": "guestbook-svc.default.svc.cluster.local", "stable-hash": "stable0hash", "latest-hash": "latest0hash",
		"env": "dev", "region": "us-west-2", "api-url": "http://other-api",
	}
	for _, a := range spec.Args {
		switch {
		case a.Name == "api-token":
			if a.Value != nil || a.ValueFrom.SecretKeyRef.Name != "token-secret" {
				t.Errorf("the secret must stay a reference until measurement: %+v", a)
			}
		case a.Value == nil || *a.Value != want[a.Name]:
			t.Errorf("arg %s = %v, want %q", a.Name, a.Value, want[a.Name])
		}
	}
	// Without secrets (scheduling, validation) the placeholder stands in.
	plain, _, err := ResolveMetric(spec.Metrics[0], spec.Args, WithoutSecrets)
	if err != nil || plain.Provider.Web.Headers[0].Value != "Bearer "+SecretPlaceholder {
		t.Fatalf("without secrets: %v %+v", err, plain.Provider.Web)
	}
	resolved, secrets, err := ResolveMetric(spec.Metrics[0], spec.Args, s.resolver)
	if err != nil {
		t.Fatal(err)
	}
	web := resolved.Provider.Web
	if web.URL != "http://other-api?service=guestbook-svc.default.svc.cluster.local" || web.Headers[0].Value != "Bearer not-a-real-token" {
		t.Errorf("web %+v", web)
	}
	if got := Redact("401 for header Bearer not-a-real-token", secrets); got != "401 for header Bearer *****" {
		t.Errorf("redacted %q", got)
	}
}

func TestSeedTemplates(t *testing.T) {
	s := loadSeed(t)
	ref := func(names ...string) []v1alpha1.AnalysisTemplateRef {
		var refs []v1alpha1.AnalysisTemplateRef
		for _, n := range names {
			refs = append(refs, v1alpha1.AnalysisTemplateRef{TemplateName: n})
		}
		return refs
	}
	svc := "svc"
	args := []v1alpha1.Argument{{Name: "service-name", Value: &svc}}

	spec, err := Build(Request{Templates: ref("success-rate-once"), Args: args}, s.lookup)
	if err != nil {
		t.Fatal(err)
	}
	metrics, err := RunMetrics(spec)
	if err != nil {
		t.Fatal(err)
	}
	if n, bounded := metrics[0].EffectiveCount(); n != 1 || !bounded {
		t.Errorf("no interval: a single measurement; got %d %v", n, bounded)
	}
	if n, _ := metrics[1].EffectiveCount(); n != 5 || metrics[1].Interval != time.Minute {
		t.Errorf("five a minute apart; got %d every %v", n, metrics[1].Interval)
	}
	resolved, _, _ := ResolveMetric(spec.Metrics[0], spec.Args, WithoutSecrets)
	if resolved.Provider.Prometheus.Address != "http://prometheus.example.com:9090" {
		t.Errorf("template default arg: %s", resolved.Provider.Prometheus.Address)
	}

	spec, err = Build(Request{Templates: ref("metric-forms"), Args: args}, s.lookup)
	if err != nil {
		t.Fatal(err)
	}
	metrics, err = RunMetrics(spec)
	if err != nil {
		t.Fatal(err)
	}
	if metrics[1].Name != "success-rate-band" || metrics[1].InitialDelay != 5*time.Minute || metrics[1].FailureCondition != "result[0] < 0.50" {
		t.Errorf("band %+v", metrics[1])
	}

	errorCases := []struct {
		name string
		req  Request
		want string
	}{
		{"required arg not supplied", Request{Templates: ref("success-rate-once")},
			"args.service-name was not resolved (template success-rate-once: supply it in the rollout's analysis args)"},
		{"the same metric name in two templates", Request{Templates: ref("success-rate", "success-rate-once"), Args: args},
			`metric "success-rate" is defined in both AnalysisTemplate "success-rate" and AnalysisTemplate "success-rate-once"`},
		{"missing template", Request{Templates: ref("nope")}, `AnalysisTemplate "nope": not found`},
	}
	for _, c := range errorCases {
		_, err := Build(c.req, s.lookup)
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.name, err, c.want)
		}
	}
}
