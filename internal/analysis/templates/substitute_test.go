package templates

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

func TestResolveMetric(t *testing.T) {
	args := []v1alpha1.Argument{
		{Name: "svc", Value: str("guestbook")},
		{Name: "quoted", Value: str(`say "hi"\now`)},
		{Name: "multi", Value: str("line1\nline2\ttab")},
		{Name: "control", Value: str("bell\a")},
		{Name: "count", Value: str("5")},
		{Name: "braces", Value: str("{{args.svc}}")},
	}
	query := func(q string) v1alpha1.Metric {
		m := metric("m")
		m.Provider.Prometheus.Query = q
		return m
	}
	cases := []struct {
		name    string
		query   string
		want    string
		wantErr string
	}{
		{"plain", `rate{svc="{{args.svc}}"}`, `rate{svc="guestbook"}`, ""},
		{"whitespace inside the braces", `{{ args.svc }}-{{args.svc  }}`, `guestbook-guestbook`, ""},
		{"quotes and backslashes survive", `x="{{args.quoted}}"`, `x="say "hi"\now"`, ""},
		{"newlines and tabs survive", `{{args.multi}}`, "line1\nline2\ttab", ""},
		{"control characters survive", `{{args.control}}`, "bell\a", ""},
		{"substituted text is not scanned again", `{{args.braces}}`, `{{args.svc}}`, ""},
		{"no tags", `sum(up)`, `sum(up)`, ""},
		{"unknown arg", `{{ args.nope }}`, "", "failed to resolve {{ args.nope }}"},
		{"a tag that is not an arg", `{{.Values.x}}`, "", "failed to resolve {{.Values.x}}"},
		// As with the reference's template engine, the tag runs to the next
		// "}}" in the marshalled JSON, and that is no argument.
		{"unclosed tag", `up{{args.svc`, "", `failed to resolve {{args.svc",`},
	}
	for _, c := range cases {
		got, secrets, err := ResolveMetric(query(c.query), args, WithoutSecrets)
		if c.wantErr != "" {
			if err == nil || !strings.HasPrefix(err.Error(), c.wantErr) {
				t.Errorf("%s: error %v, want %q", c.name, err, c.wantErr)
			}
			continue
		}
		if err != nil || got.Provider.Prometheus.Query != c.want || secrets != nil {
			t.Errorf("%s: %q %v %v, want %q", c.name, got.Provider.Prometheus.Query, secrets, err, c.want)
		}
	}

	if _, err := substitute(`{"q":"{{args.svc"`, nil); err == nil || err.Error() != `unterminated {{ in "{{args.svc\""` {
		t.Errorf("unterminated: %v", err)
	}

	m := metric("m")
	count := intstr.FromString("{{args.count}}")
	m.Count = &count
	got, _, err := ResolveMetric(m, args, WithoutSecrets)
	if err != nil || got.Count.Type != intstr.String || got.Count.StrVal != "5" {
		t.Errorf("count: %+v %v", got.Count, err)
	}
}

func TestResolveMetricSecrets(t *testing.T) {
	secret := func(key string) *v1alpha1.ValueFrom {
		return &v1alpha1.ValueFrom{SecretKeyRef: &v1alpha1.SecretKeyRef{Name: "s", Key: key}}
	}
	args := []v1alpha1.Argument{
		{Name: "token", ValueFrom: secret("token")},
		{Name: "unused", ValueFrom: secret("unused")},
		{Name: "both", Value: str("literal"), ValueFrom: secret("both")},
		{Name: "field", ValueFrom: &v1alpha1.ValueFrom{FieldRef: &v1alpha1.FieldRef{FieldPath: "metadata.name"}}},
	}
	var asked []string
	resolver := func(a v1alpha1.Argument) (string, error) {
		asked = append(asked, a.Name)
		if a.ValueFrom.SecretKeyRef == nil {
			return "", errors.New("only secrets")
		}
		return "secret-" + a.ValueFrom.SecretKeyRef.Key, nil
	}
	m := metric("m")
	m.Provider.Prometheus.Query = "{{args.token}} {{args.token}} {{args.both}}"
	got, secrets, err := ResolveMetric(m, args, resolver)
	if err != nil || got.Provider.Prometheus.Query != "secret-token secret-token secret-both" {
		t.Fatalf("%q %v", got.Provider.Prometheus.Query, err)
	}
	if !slices.Equal(asked, []string{"token", "both"}) || !slices.Equal(secrets, []string{"secret-token", "secret-both"}) {
		t.Errorf("secrets are read once each, only when used, and a secret beats a literal: asked %v, secrets %v", asked, secrets)
	}

	m.Provider.Prometheus.Query = "{{args.field}}"
	if _, _, err := ResolveMetric(m, args, resolver); err == nil || err.Error() != "args.field: only secrets" {
		t.Errorf("resolver error: %v", err)
	}
	if _, _, err := ResolveMetric(m, args, WithoutSecrets); err == nil || !strings.Contains(err.Error(), "args.field has no value an AnalysisRun can read") {
		t.Errorf("fieldRef without secrets: %v", err)
	}
}

func TestRedact(t *testing.T) {
	cases := []struct {
		s       string
		secrets []string
		want    string
	}{
		{"token abc123 failed", []string{"abc123"}, "token ***** failed"},
		{"abc123 and abc", []string{"abc", "abc123"}, "***** and *****"},
		{"nothing secret", []string{""}, "nothing secret"},
		{"no secrets", nil, "no secrets"},
	}
	for _, c := range cases {
		if got := Redact(c.s, c.secrets); got != c.want {
			t.Errorf("Redact(%q, %q) = %q, want %q", c.s, c.secrets, got, c.want)
		}
	}
}
