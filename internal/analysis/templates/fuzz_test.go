package templates

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// fuzzExampleTemplates returns the AnalysisTemplate documents of the
// repository's examples, by name, and each document's text.
func fuzzExampleTemplates(tb testing.TB) (map[string]*v1alpha1.AnalysisTemplateSpec, [][]byte) {
	tb.Helper()
	files, err := filepath.Glob("../../../examples/*.yaml")
	if err != nil || len(files) == 0 {
		tb.Fatalf("examples: %v (found %d)", err, len(files))
	}
	specs := map[string]*v1alpha1.AnalysisTemplateSpec{}
	var docs [][]byte
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			tb.Fatal(err)
		}
		for _, doc := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(data), -1) {
			if !regexp.MustCompile(`(?m)^kind: AnalysisTemplate\s*$`).MatchString(doc) {
				continue
			}
			var at v1alpha1.AnalysisTemplate
			if err := yaml.UnmarshalStrict([]byte(doc), &at); err != nil {
				tb.Fatalf("%s: %v", name, err)
			}
			specs[at.Name] = &at.Spec
			docs = append(docs, []byte(doc))
		}
	}
	if len(docs) == 0 {
		tb.Fatal("no AnalysisTemplate in the examples")
	}
	return specs, docs
}

// FuzzBuild builds a run from a fuzzed AnalysisTemplate, which may nest the
// examples' templates (and itself), with one caller argument. Properties:
// no panic; the templates are not modified; a required argument that
// nothing supplies is an error; a built run has every argument set, runs
// (RunMetrics), and once its arguments are substituted no placeholder is
// left (when no value brings braces of its own); the counts the engine
// gets leave room for the limits.
func FuzzBuild(f *testing.F) {
	examples, docs := fuzzExampleTemplates(f)
	for _, doc := range docs {
		f.Add(doc, "service-name", "guestbook-svc.default.svc.cluster.local")
	}
	for _, s := range []struct{ doc, name, value string }{
		{`{"spec":{"args":[{"name":"svc"}],"metrics":[{"name":"m","successCondition":"result[0] >= {{args.min}}","provider":{"prometheus":{"query":"up{svc=\"{{ args.svc }}\"}"}}}]}}`, "svc", `say "hi"\n`},
		{`{"spec":{"args":[{"name":"n","value":"3"}],"metrics":[{"name":"m","count":"{{args.n}}","failureLimit":"{{args.n}}","interval":"{{args.i}}","provider":{"prometheus":{"query":"up"}}}]}}`, "i", "1m"},
		{`{"spec":{"args":[{"name":"t","valueFrom":{"secretKeyRef":{"name":"s","key":"k"}}}],"metrics":[{"name":"m","provider":{"web":{"url":"http://x/{{args.t}}","headers":[{"key":"Authorization","value":"Bearer {{args.t}}"}]}}}]}}`, "t", "literal"},
		{`{"spec":{"templates":[{"templateName":"fuzzed"},{"templateName":"success-rate"}],"args":[{"name":"service-name","value":"other"}],"metrics":[{"name":"m","provider":{"prometheus":{"query":"up"}}}]}}`, "", ""},
		{`{"spec":{"dryRun":[{"metricName":"(m"}],"measurementRetention":[{"metricName":".*","limit":-1}],"metrics":[{"name":"m","count":-1,"consecutiveSuccessLimit":2147483647,"failureLimit":-1,"provider":{"job":{"spec":{"template":{"spec":{"containers":[{"name":"c","image":"{{args.img}}"}]}}}}}}]}}`, "img", "busybox"},
		{`{"spec":{"args":[{"name":"f","valueFrom":{"fieldRef":{"fieldPath":"metadata.name"}}}],"metrics":[{"name":"m","initialDelay":"1h2x","provider":{"prometheus":{"query":"{{args.f}} {{args.nope}} {{args.f"}}}]}}`, "f", ""},
	} {
		f.Add([]byte(s.doc), s.name, s.value)
	}
	f.Fuzz(func(t *testing.T, doc []byte, argName, argValue string) {
		var at v1alpha1.AnalysisTemplate
		if err := yaml.Unmarshal(doc, &at); err != nil {
			return
		}
		lookup := func(name string, cluster bool) (*v1alpha1.AnalysisTemplateSpec, error) {
			switch {
			case name == "fuzzed" && !cluster:
				return &at.Spec, nil
			case examples[name] != nil:
				return examples[name], nil
			}
			return nil, errNotFound
		}
		before := at.Spec.DeepCopy()
		req := Request{Templates: []v1alpha1.AnalysisTemplateRef{{TemplateName: "fuzzed"}}}
		if argName != "" {
			req.Args = []v1alpha1.Argument{{Name: argName, Value: &argValue}}
		}
		spec, err := Build(req, lookup)
		if !reflect.DeepEqual(before, &at.Spec) {
			t.Fatal("Build modified the template")
		}
		if missing := fuzzUnsuppliedArg(req, lookup); missing != "" && err == nil {
			t.Fatalf("args.%s is required and not supplied, yet Build succeeded", missing)
		}
		if err != nil {
			return
		}
		braces := false
		for _, a := range spec.Args {
			if !isSet(a) {
				t.Fatalf("built run with an unset argument %q", a.Name)
			}
			braces = braces || (a.Value != nil && strings.ContainsAny(*a.Value, "{}"))
		}
		metrics, err := RunMetrics(spec)
		if err != nil {
			t.Fatalf("Build succeeded but its run cannot run: %v", err)
		}
		for _, m := range metrics {
			if m.Count != nil && *m.Count > 0 && int64(*m.Count) < int64(m.ConsecutiveSuccessLimit)+int64(max(m.FailureLimit, 0)) {
				t.Errorf("metric %q: count %d leaves no room for consecutiveSuccessLimit %d + failureLimit %d", m.Name, *m.Count, m.ConsecutiveSuccessLimit, m.FailureLimit)
			}
		}
		for _, m := range spec.Metrics {
			resolved, _, err := ResolveMetric(m, spec.Args, WithoutSecrets)
			if err != nil {
				t.Fatalf("metric %q resolved in RunMetrics but not again: %v", m.Name, err)
			}
			out, err := json.Marshal(resolved)
			if err != nil {
				t.Fatal(err)
			}
			if !braces && strings.Contains(string(out), "{{") {
				t.Errorf("metric %q keeps a placeholder after substitution: %s", m.Name, out)
			}
		}
	})
}

// fuzzUnsuppliedArg is the name of a template argument that no template
// gives a value and the request does not supply, or "".
func fuzzUnsuppliedArg(req Request, lookup Lookup) string {
	ts, err := Collect(req.Templates, lookup)
	if err != nil {
		return ""
	}
	set := map[string]bool{}
	var names []string
	for _, t := range ts {
		for _, a := range t.Spec.Args {
			if _, ok := set[a.Name]; !ok {
				names = append(names, a.Name)
			}
			set[a.Name] = set[a.Name] || isSet(a)
		}
	}
	for _, a := range req.Args {
		if _, ok := set[a.Name]; ok {
			set[a.Name] = set[a.Name] || isSet(a)
		}
	}
	for _, n := range names {
		if !set[n] {
			return n
		}
	}
	return ""
}

// fuzzPlainName matches argument names that appear in marshalled JSON as
// written (json.Marshal escapes quotes, backslashes, control characters
// and <, > and &), without braces or surrounding space.
var fuzzPlainName = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)

// FuzzResolveMetric substitutes an argument into the text prefix +
// "{{ args.<name> }}" + suffix placed in one of a metric's fields (which
// selects), and the same text with the placeholder's braces left as the
// fuzzer wrote them. Properties: no panic; with a plain name and
// brace-free, valid UTF-8 text around it (JSON, which the metric passes
// through, carries nothing else: an invalid byte becomes U+FFFD), the field becomes exactly
// prefix + value + suffix, however the value must be escaped; a secret is
// read only when used and reported for redaction; an unknown argument is
// an error, never a partly substituted metric.
func FuzzResolveMetric(f *testing.F) {
	for _, s := range []struct {
		prefix, name, value, suffix string
		secret                      bool
		which                       uint8
	}{
		{`sum(rate(istio_requests_total{destination_service=~"`, "service-name", "guestbook-svc.default.svc.cluster.local", `",response_code!~"5.*"}[5m]))`, false, 0},
		{"http://", "api-url", "http://other-api", "/health", false, 1},
		{"Bearer ", "api-token", "s3cr3t", "", true, 2},
		{"result[0] >= ", "threshold", "0.95", "", false, 3},
		{"", "count", "5", "", false, 4},
		{"", "interval", "1m", "", false, 5},
		{"x=", "quoted", `say "hi"\now`, "", false, 0},
		{"", "multi", "line1\nline2\ttab\a<&>\u2028", "", false, 6},
		{"{", "braces", "{{args.svc}}", "}", false, 0},
		{"}}{{", "svc", "", "{{args.svc", false, 1},
		{"", " spaced ", "v", "", false, 0},
		{"", "quo\"te", "v", "", false, 0},
		{"\xff", "svc", "\xfe", "", false, 0},
	} {
		f.Add(s.prefix, s.name, s.value, s.suffix, s.secret, s.which)
	}
	f.Fuzz(func(t *testing.T, prefix, name, value, suffix string, secret bool, which uint8) {
		arg := v1alpha1.Argument{Name: name, Value: &value}
		if secret {
			arg = v1alpha1.Argument{Name: name, ValueFrom: &v1alpha1.ValueFrom{SecretKeyRef: &v1alpha1.SecretKeyRef{Name: "s", Key: "k"}}}
		}
		args := []v1alpha1.Argument{{Name: "other arg", Value: new("unused")}, arg}
		var asked int
		resolve := func(a v1alpha1.Argument) (string, error) {
			asked++
			if a.Name != name || !secret {
				t.Fatalf("resolver asked for %+v", a)
			}
			return value, nil
		}
		text := prefix + "{{ args." + name + " }}" + suffix
		m, get := fuzzMetricWith(text, which)
		got, secrets, err := ResolveMetric(m, args, resolve)
		clean := fuzzPlainName.MatchString(name) && !strings.ContainsAny(prefix+suffix, "{}") &&
			utf8.ValidString(prefix) && utf8.ValidString(value) && utf8.ValidString(suffix)
		if clean {
			if err != nil {
				t.Fatalf("ResolveMetric(%q): %v", text, err)
			}
			if want := prefix + value + suffix; get(got) != want {
				t.Fatalf("ResolveMetric(%q) = %q, want %q", text, get(got), want)
			}
			if secret && (asked != 1 || len(secrets) != 1 || secrets[0] != value) {
				t.Fatalf("secret asked %d times, reported %q", asked, secrets)
			}
		}
		if err == nil && !secret && (asked != 0 || len(secrets) != 0) {
			t.Fatalf("no secret used, yet asked %d times and reported %q", asked, secrets)
		}

		// The fuzzer's own text, placeholders and all: a success leaves no
		// "{{" unless a value brought one.
		raw := prefix + name + value + suffix
		m, _ = fuzzMetricWith(raw, which)
		got, _, err = ResolveMetric(m, args, resolve)
		if err == nil && !strings.ContainsAny(value, "{}") {
			out, _ := json.Marshal(got)
			if strings.Contains(string(out), "{{") {
				t.Fatalf("ResolveMetric(%q) kept a placeholder: %s", raw, out)
			}
		}
		m, _ = fuzzMetricWith(prefix+"{{args.unknown-"+name+"}}"+suffix, which)
		if _, _, err := ResolveMetric(m, args, resolve); err == nil {
			t.Fatalf("an unknown argument resolved")
		}
	})
}

// fuzzMetricWith is a metric with text in the field which selects, and a
// function reading that field back.
func fuzzMetricWith(text string, which uint8) (v1alpha1.Metric, func(v1alpha1.Metric) string) {
	m := metric("m")
	switch which % 7 {
	case 1:
		m.Provider = v1alpha1.MetricProvider{Web: &v1alpha1.WebMetric{URL: text}}
		return m, func(m v1alpha1.Metric) string { return m.Provider.Web.URL }
	case 2:
		m.Provider = v1alpha1.MetricProvider{Web: &v1alpha1.WebMetric{URL: "http://x", Headers: []v1alpha1.WebMetricHeader{{Key: "Authorization", Value: text}}}}
		return m, func(m v1alpha1.Metric) string { return m.Provider.Web.Headers[0].Value }
	case 3:
		m.SuccessCondition = text
		return m, func(m v1alpha1.Metric) string { return m.SuccessCondition }
	case 4:
		c := intstr.FromString(text)
		m.Count = &c
		return m, func(m v1alpha1.Metric) string { return m.Count.StrVal }
	case 5:
		m.Interval = v1alpha1.DurationString(text)
		return m, func(m v1alpha1.Metric) string { return string(m.Interval) }
	case 6:
		m.Provider = v1alpha1.MetricProvider{Job: &v1alpha1.JobMetric{}}
		m.Provider.Job.Spec.Template.Spec.Containers = []corev1.Container{{Name: "c", Image: "busybox", Args: []string{text}}}
		return m, func(m v1alpha1.Metric) string { return m.Provider.Job.Spec.Template.Spec.Containers[0].Args[0] }
	}
	m.Provider.Prometheus.Query = text
	return m, func(m v1alpha1.Metric) string { return m.Provider.Prometheus.Query }
}

// FuzzParse reads a metric's interval, initialDelay and IntOrString limits
// (each the integer from ints when its bit of asInt is set, else the
// string, omitted when empty). Properties: no panic, and a metric Parse
// accepts keeps every rule it promises the engine: limits in range, an
// interval for a count above 1, and a count that leaves room for the
// limits it must reach.
func FuzzParse(f *testing.F) {
	type limits struct{ count, failure, inconclusive, errors, success string }
	type ints struct{ count, failure, inconclusive, errors, success int32 }
	for _, s := range []struct {
		interval, initialDelay string
		text                   limits
		n                      ints
		asInt                  uint8
	}{
		{},
		{interval: "30s", initialDelay: "2m"},
		{interval: "1m", text: limits{count: "10", inconclusive: "2", success: "4"}, n: ints{failure: 3, errors: 0}, asInt: 0b01010},
		{interval: "1m", n: ints{failure: -1, success: 2}, asInt: 0b10010},
		{text: limits{count: "five", failure: "5%"}},
		{interval: "soon", initialDelay: "5"},
		{interval: "0s", n: ints{count: 3}, asInt: 1},
		{interval: "1m", n: ints{count: 4, failure: 3, success: 2}, asInt: 0b10011},
		{interval: "1m", n: ints{count: 2, failure: -1, success: 3}, asInt: 0b10011},
		{interval: "1m", n: ints{count: 2, inconclusive: 3}, asInt: 0b00101},
		{interval: "-1m", initialDelay: "-1h", n: ints{-1, -2, -1, -1, -1}, asInt: 0b11111},
		{interval: "1h2x", initialDelay: "1.5h", text: limits{"99999999999", "0x10", " 1", "+4", "1e3"}},
	} {
		f.Add(s.interval, s.initialDelay, s.text.count, s.text.failure, s.text.inconclusive, s.text.errors, s.text.success,
			s.n.count, s.n.failure, s.n.inconclusive, s.n.errors, s.n.success, s.asInt)
	}
	f.Fuzz(func(t *testing.T, interval, initialDelay, count, failureLimit, inconclusiveLimit, errorLimit, succ string,
		nCount, nFailure, nInconclusive, nErrors, nSuccess int32, asInt uint8) {
		field := func(bit uint8, s string, n int32) *intstr.IntOrString {
			if asInt&bit != 0 {
				v := intstr.FromInt32(n)
				return &v
			}
			if s == "" {
				return nil
			}
			v := intstr.FromString(s)
			return &v
		}
		m := metric("m")
		m.Interval, m.InitialDelay = v1alpha1.DurationString(interval), v1alpha1.DurationString(initialDelay)
		m.Count, m.FailureLimit, m.InconclusiveLimit = field(1, count, nCount), field(2, failureLimit, nFailure), field(4, inconclusiveLimit, nInconclusive)
		m.ConsecutiveErrorLimit, m.ConsecutiveSuccessLimit = field(8, errorLimit, nErrors), field(16, succ, nSuccess)
		before := *m.DeepCopy()
		got, err := Parse(m)
		if !reflect.DeepEqual(before, m) {
			t.Fatal("Parse modified the metric")
		}
		if err != nil {
			if !strings.HasPrefix(err.Error(), `metric "m": `) {
				t.Errorf("error %q does not name the metric", err)
			}
			return
		}
		n := int64(0)
		if got.Count != nil {
			n = int64(*got.Count)
		}
		switch {
		case (got.Count == nil) != (m.Count == nil) || got.ConsecutiveErrorLimit == nil:
			t.Errorf("count %v, consecutiveErrorLimit %v", got.Count, got.ConsecutiveErrorLimit)
		case n < 0 || got.FailureLimit < -1 || got.InconclusiveLimit < 0 || *got.ConsecutiveErrorLimit < 0 || got.ConsecutiveSuccessLimit < 0:
			t.Errorf("a limit out of range was accepted: %+v", got)
		case got.FailureLimit == -1 && got.ConsecutiveSuccessLimit == 0:
			t.Errorf("a metric that can never end was accepted: %+v", got)
		case interval != "" && got.Interval <= 0:
			t.Errorf("interval %q accepted as %v", interval, got.Interval)
		case n > 1 && got.Interval <= 0:
			t.Errorf("count %d accepted without an interval", n)
		case n > 0 && n < int64(got.ConsecutiveSuccessLimit)+int64(max(got.FailureLimit, 0)):
			t.Errorf("count %d accepted below consecutiveSuccessLimit %d + failureLimit %d", n, got.ConsecutiveSuccessLimit, got.FailureLimit)
		case n > 0 && n < int64(got.InconclusiveLimit):
			t.Errorf("count %d accepted below inconclusiveLimit %d", n, got.InconclusiveLimit)
		}
	})
}
