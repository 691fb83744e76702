package templates

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

var errNotFound = errors.New("not found")

func str(s string) *string { return &s }

func yes() *bool { b := true; return &b }

func nsRef(name string) v1alpha1.AnalysisTemplateRef {
	return v1alpha1.AnalysisTemplateRef{TemplateName: name}
}

func clusterRef(name string) v1alpha1.AnalysisTemplateRef {
	return v1alpha1.AnalysisTemplateRef{TemplateName: name, ClusterScope: yes()}
}

func metric(name string) v1alpha1.Metric {
	return v1alpha1.Metric{Name: name, Provider: v1alpha1.MetricProvider{Prometheus: &v1alpha1.PrometheusMetric{Query: "up"}}}
}

// store is a Lookup over fixed templates; cluster ones are keyed "cluster/<name>".
type store map[string]*v1alpha1.AnalysisTemplateSpec

func (s store) lookup(name string, clusterScope bool) (*v1alpha1.AnalysisTemplateSpec, error) {
	if clusterScope {
		name = "cluster/" + name
	}
	if spec, ok := s[name]; ok {
		return spec, nil
	}
	return nil, errNotFound
}

func names(ts []Template) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.String())
	}
	return out
}

func TestCollect(t *testing.T) {
	s := store{
		"a":         {Templates: []v1alpha1.AnalysisTemplateRef{nsRef("b"), clusterRef("c")}},
		"b":         {Templates: []v1alpha1.AnalysisTemplateRef{nsRef("a")}}, // a cycle back to a
		"cluster/c": {Templates: []v1alpha1.AnalysisTemplateRef{nsRef("d"), clusterRef("c")}},
		"d":         {},
		"cluster/d": {},
		"broken":    {Templates: []v1alpha1.AnalysisTemplateRef{nsRef("missing")}},
	}
	cases := []struct {
		name    string
		refs    []v1alpha1.AnalysisTemplateRef
		want    []string
		wantErr string
	}{
		{"nested, deduplicated and cycle-safe; namespaced first", []v1alpha1.AnalysisTemplateRef{nsRef("a"), nsRef("d")},
			[]string{`AnalysisTemplate "a"`, `AnalysisTemplate "b"`, `AnalysisTemplate "d"`, `ClusterAnalysisTemplate "c"`}, ""},
		{"a cluster template first still lists after namespaced ones", []v1alpha1.AnalysisTemplateRef{clusterRef("d"), nsRef("d")},
			[]string{`AnalysisTemplate "d"`, `ClusterAnalysisTemplate "d"`}, ""},
		{"the same reference twice", []v1alpha1.AnalysisTemplateRef{nsRef("d"), nsRef("d")}, []string{`AnalysisTemplate "d"`}, ""},
		{"a missing nested template", []v1alpha1.AnalysisTemplateRef{nsRef("broken")}, nil, `AnalysisTemplate "missing": not found`},
	}
	for _, c := range cases {
		ts, err := Collect(c.refs, s.lookup)
		if c.wantErr != "" {
			if err == nil || err.Error() != c.wantErr || !errors.Is(err, errNotFound) {
				t.Errorf("%s: error %v, want %q wrapping the lookup's", c.name, err, c.wantErr)
			}
			continue
		}
		if err != nil || !slices.Equal(names(ts), c.want) {
			t.Errorf("%s: %v %v, want %v", c.name, names(ts), err, c.want)
		}
	}
}

func TestBuildMetricsAndRules(t *testing.T) {
	s := store{
		"ns1":        {Metrics: []v1alpha1.Metric{metric("m1")}, DryRun: []v1alpha1.DryRun{{MetricName: "m1"}}, MeasurementRetention: []v1alpha1.MeasurementRetention{{MetricName: "m.*", Limit: 3}}},
		"ns2":        {Metrics: []v1alpha1.Metric{metric("m2")}, Templates: []v1alpha1.AnalysisTemplateRef{clusterRef("c1")}},
		"cluster/c1": {Metrics: []v1alpha1.Metric{metric("c1")}, DryRun: []v1alpha1.DryRun{{MetricName: "^c"}}},
		"twice":      {Metrics: []v1alpha1.Metric{metric("x"), metric("x")}},
		"dupRule":    {Metrics: []v1alpha1.Metric{metric("y")}, DryRun: []v1alpha1.DryRun{{MetricName: "y"}, {MetricName: "y"}}},
		"cluster/m1": {Metrics: []v1alpha1.Metric{metric("m1")}},
	}
	spec, err := Build(Request{
		Templates:            []v1alpha1.AnalysisTemplateRef{clusterRef("c1"), nsRef("ns1"), nsRef("ns2")},
		DryRun:               []v1alpha1.DryRun{{MetricName: "m2"}},
		MeasurementRetention: []v1alpha1.MeasurementRetention{{MetricName: "c1", Limit: 1}},
	}, s.lookup)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range spec.Metrics {
		got = append(got, m.Name)
	}
	if !slices.Equal(got, []string{"m1", "m2", "c1"}) {
		t.Errorf("metrics %v: namespaced first, then cluster", got)
	}
	if want := []v1alpha1.DryRun{{MetricName: "m2"}, {MetricName: "m1"}, {MetricName: "^c"}}; !slices.Equal(spec.DryRun, want) {
		t.Errorf("dryRun %v, want rollout's first", spec.DryRun)
	}
	if want := []v1alpha1.MeasurementRetention{{MetricName: "c1", Limit: 1}, {MetricName: "m.*", Limit: 3}}; !slices.Equal(spec.MeasurementRetention, want) {
		t.Errorf("measurementRetention %v", spec.MeasurementRetention)
	}

	errorCases := []struct {
		name string
		req  Request
		want string
	}{
		{"a metric twice in one template", Request{Templates: []v1alpha1.AnalysisTemplateRef{nsRef("twice")}},
			`metric "x" is defined twice in AnalysisTemplate "twice"`},
		{"a metric in a namespaced and a cluster template", Request{Templates: []v1alpha1.AnalysisTemplateRef{clusterRef("m1"), nsRef("ns1")}},
			`metric "m1" is defined in both AnalysisTemplate "ns1" and ClusterAnalysisTemplate "m1": metric names must be unique across a run's templates`},
		{"a dry-run rule twice in one template", Request{Templates: []v1alpha1.AnalysisTemplateRef{nsRef("dupRule")}},
			`dryRun metricName "y" is listed twice by AnalysisTemplate "dupRule"`},
		{"a dry-run rule in the rollout and a template", Request{Templates: []v1alpha1.AnalysisTemplateRef{nsRef("ns1")}, DryRun: []v1alpha1.DryRun{{MetricName: "m1"}}},
			`dryRun metricName "m1" is listed by both the rollout's analysis and AnalysisTemplate "ns1"`},
		{"a retention rule twice in the rollout", Request{Templates: []v1alpha1.AnalysisTemplateRef{nsRef("ns2")}, MeasurementRetention: []v1alpha1.MeasurementRetention{{MetricName: "a"}, {MetricName: "a"}}},
			`measurementRetention metricName "a" is listed twice by the rollout's analysis`},
		{"a rule that selects nothing fails the build", Request{Templates: []v1alpha1.AnalysisTemplateRef{nsRef("ns2")}, DryRun: []v1alpha1.DryRun{{MetricName: "nothing"}}},
			`dryRun[0]: metricName "nothing" matches no metric`},
		{"no templates", Request{}, "no metrics specified"},
	}
	for _, c := range errorCases {
		if _, err := Build(c.req, s.lookup); err == nil || err.Error() != c.want {
			t.Errorf("%s: error %v, want %q", c.name, err, c.want)
		}
	}
}

func TestMergeArgs(t *testing.T) {
	secret := func(name string) *v1alpha1.ValueFrom {
		return &v1alpha1.ValueFrom{SecretKeyRef: &v1alpha1.SecretKeyRef{Name: name, Key: "k"}}
	}
	tmpl := func(name string, cluster bool, args ...v1alpha1.Argument) Template {
		return Template{Name: name, ClusterScope: cluster, Spec: &v1alpha1.AnalysisTemplateSpec{Args: args}}
	}
	cases := []struct {
		name     string
		ts       []Template
		incoming []v1alpha1.Argument
		want     []v1alpha1.Argument
		wantErr  string
	}{
		{
			name:     "incoming overrides by name; undeclared incoming ignored",
			ts:       []Template{tmpl("t", false, v1alpha1.Argument{Name: "a", Value: str("default")}, v1alpha1.Argument{Name: "b"})},
			incoming: []v1alpha1.Argument{{Name: "a", Value: str("mine")}, {Name: "b", Value: str("")}, {Name: "extra", Value: str("x")}},
			want:     []v1alpha1.Argument{{Name: "a", Value: str("mine")}, {Name: "b", Value: str("")}},
		},
		{
			name: "nil never overwrites a set value, in either order",
			ts: []Template{
				tmpl("t1", false, v1alpha1.Argument{Name: "a", Value: str("1")}, v1alpha1.Argument{Name: "b"}),
				tmpl("t2", true, v1alpha1.Argument{Name: "a"}, v1alpha1.Argument{Name: "b", Value: str("2")}),
			},
			want: []v1alpha1.Argument{{Name: "a", Value: str("1")}, {Name: "b", Value: str("2")}},
		},
		{
			name: "equal values across templates agree",
			ts:   []Template{tmpl("t1", false, v1alpha1.Argument{Name: "a", Value: str("1")}), tmpl("t2", false, v1alpha1.Argument{Name: "a", Value: str("1")})},
			want: []v1alpha1.Argument{{Name: "a", Value: str("1")}},
		},
		{
			name:    "conflicting values across templates",
			ts:      []Template{tmpl("t1", false, v1alpha1.Argument{Name: "a", Value: str("1")}), tmpl("t2", true, v1alpha1.Argument{Name: "a", Value: str("2")})},
			wantErr: `argument "a" has different values in AnalysisTemplate "t1" ("1") and ClusterAnalysisTemplate "t2" ("2")`,
		},
		{
			name:    "a value against a secret conflicts",
			ts:      []Template{tmpl("t1", false, v1alpha1.Argument{Name: "a", ValueFrom: secret("s")}), tmpl("t2", false, v1alpha1.Argument{Name: "a", Value: str("2")})},
			wantErr: `argument "a" has different values in AnalysisTemplate "t1" (secretKeyRef s/k) and AnalysisTemplate "t2" ("2")`,
		},
		{
			name:     "an incoming literal replaces a secret reference",
			ts:       []Template{tmpl("t", false, v1alpha1.Argument{Name: "token", ValueFrom: secret("s")})},
			incoming: []v1alpha1.Argument{{Name: "token", Value: str("literal")}},
			want:     []v1alpha1.Argument{{Name: "token", Value: str("literal")}},
		},
		{
			name:     "an incoming argument without a value changes nothing",
			ts:       []Template{tmpl("t", false, v1alpha1.Argument{Name: "a", Value: str("1")})},
			incoming: []v1alpha1.Argument{{Name: "a"}},
			want:     []v1alpha1.Argument{{Name: "a", Value: str("1")}},
		},
		{
			name:    "required and never supplied",
			ts:      []Template{tmpl("t1", false, v1alpha1.Argument{Name: "a", Value: str("1")}), tmpl("t2", false, v1alpha1.Argument{Name: "svc"})},
			wantErr: "args.svc was not resolved (template t2: supply it in the rollout's analysis args)",
		},
	}
	for _, c := range cases {
		got, err := mergeArgs(c.ts, c.incoming, "the rollout's analysis")
		if c.wantErr != "" {
			if err == nil || err.Error() != c.wantErr {
				t.Errorf("%s: error %v, want %q", c.name, err, c.wantErr)
			}
			continue
		}
		if err != nil || !equalArgs(got, c.want) {
			t.Errorf("%s: %v %v", c.name, describeArgs(got), err)
		}
	}
}

func equalArgs(a, b []v1alpha1.Argument) bool {
	return slices.EqualFunc(a, b, func(x, y v1alpha1.Argument) bool { return x.Name == y.Name && sameValue(x, y) })
}

func describeArgs(args []v1alpha1.Argument) string {
	var parts []string
	for _, a := range args {
		parts = append(parts, a.Name+"="+describeValue(a))
	}
	return strings.Join(parts, " ")
}

func TestBuildDoesNotModifyTemplates(t *testing.T) {
	s := store{"t": {Args: []v1alpha1.Argument{{Name: "a"}}, Metrics: []v1alpha1.Metric{metric("m")}}}
	spec, err := Build(Request{Templates: []v1alpha1.AnalysisTemplateRef{nsRef("t")}, Args: []v1alpha1.Argument{{Name: "a", Value: str("v")}}}, s.lookup)
	if err != nil {
		t.Fatal(err)
	}
	spec.Metrics[0].Provider.Prometheus.Query = "changed"
	if s["t"].Args[0].Value != nil || s["t"].Metrics[0].Provider.Prometheus.Query != "up" {
		t.Error("the template was modified")
	}
}

func TestNaming(t *testing.T) {
	nameCases := []struct {
		rollout, hash string
		revision      int64
		suffix, want  string
	}{
		{"guestbook", "6c54bd7d5c", 3, "", "guestbook-6c54bd7d5c-3"},
		{"guestbook", "6c54bd7d5c", 3, "2", "guestbook-6c54bd7d5c-3-2"},
		{"guestbook", "6c54bd7d5c", 3, PrePromotionSuffix, "guestbook-6c54bd7d5c-3-pre"},
		{"guestbook", "6c54bd7d5c", 12, PostPromotionSuffix, "guestbook-6c54bd7d5c-12-post"},
	}
	for _, c := range nameCases {
		if got := RunName(c.rollout, c.hash, c.revision, c.suffix); got != c.want {
			t.Errorf("RunName: %s, want %s", got, c.want)
		}
	}
	if got := CollisionName("guestbook-abc-3-2", 1); got != "guestbook-abc-3-2.1" {
		t.Errorf("CollisionName: %s", got)
	}

	meta := &v1alpha1.AnalysisRunMetadata{
		Labels:      map[string]string{"team": "a", "app": "overridden", v1alpha1.RolloutTypeLabel: "spoofed"},
		Annotations: map[string]string{"note": "x", v1alpha1.RevisionAnnotation: "spoofed"},
	}
	labelCases := []struct {
		name       string
		runType    string
		step       int32
		instanceID string
		meta       *v1alpha1.AnalysisRunMetadata
		want       map[string]string
	}{
		{"background", v1alpha1.RolloutTypeBackgroundRunLabel, 0, "", nil, map[string]string{
			"app": "guestbook", v1alpha1.DefaultRolloutUniqueLabelKey: "h", v1alpha1.RolloutTypeLabel: "Background"}},
		{"step with metadata and instance id", v1alpha1.RolloutTypeStepLabel, 2, "east", meta, map[string]string{
			"app": "guestbook", "team": "a", v1alpha1.DefaultRolloutUniqueLabelKey: "h", v1alpha1.RolloutTypeLabel: "Step",
			v1alpha1.RolloutCanaryStepIndexLabel: "2", v1alpha1.LabelControllerInstanceID: "east"}},
		{"pre-promotion", v1alpha1.RolloutTypePrePromotionLabel, 0, "", nil, map[string]string{
			"app": "guestbook", v1alpha1.DefaultRolloutUniqueLabelKey: "h", v1alpha1.RolloutTypeLabel: "PrePromotion"}},
	}
	for _, c := range labelCases {
		got := Labels(c.runType, c.step, "h", c.instanceID, c.meta, map[string]string{"app": "guestbook"})
		if !maps.Equal(got, c.want) {
			t.Errorf("Labels %s: %v", c.name, got)
		}
	}
	if got := Annotations(7, meta); !maps.Equal(got, map[string]string{"note": "x", v1alpha1.RevisionAnnotation: "7"}) {
		t.Errorf("Annotations: %v", got)
	}
	if got := Annotations(7, nil); !maps.Equal(got, map[string]string{v1alpha1.RevisionAnnotation: "7"}) {
		t.Errorf("Annotations: %v", got)
	}
}
