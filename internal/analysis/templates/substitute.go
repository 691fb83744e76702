package templates

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// SecretPlaceholder stands in for secret values wherever metrics are
// resolved without reading secrets (scheduling, assessment, validation).
const SecretPlaceholder = "temp-for-secret"

// Redacted replaces secret values in messages.
const Redacted = "*****"

// Resolver supplies the value of an argument with valueFrom, which an
// AnalysisRun reads when it measures: the controller's resolver reads a
// secretKeyRef from the run's namespace.
type Resolver func(arg v1alpha1.Argument) (string, error)

// WithoutSecrets is the Resolver for everything but taking a measurement:
// a secret resolves to SecretPlaceholder; any other valueFrom is an error,
// since an AnalysisRun can read nothing else.
func WithoutSecrets(arg v1alpha1.Argument) (string, error) {
	if isSecret(arg) {
		return SecretPlaceholder, nil
	}
	return "", fmt.Errorf("args.%s has no value an AnalysisRun can read (only value and valueFrom.secretKeyRef)", arg.Name)
}

func isSecret(a v1alpha1.Argument) bool {
	return a.ValueFrom != nil && a.ValueFrom.SecretKeyRef != nil
}

// ResolveMetric substitutes args into m. The metric is marshalled to JSON,
// each {{args.name}} tag (whitespace inside the braces is ignored) is
// replaced by the argument's value escaped as JSON string content (the tag
// always sits inside a JSON string, whose quotes stay), and the result is
// unmarshalled again; substituted text is not scanned for further tags.
// Any other tag, or an unknown argument, fails with "failed to resolve
// {{tag}}". Secret arguments are resolved through resolve, only when a tag
// uses them, and their values are returned for Redact.
func ResolveMetric(m v1alpha1.Metric, args []v1alpha1.Argument, resolve Resolver) (v1alpha1.Metric, []string, error) {
	raw, err := json.Marshal(m)
	if err != nil {
		return v1alpha1.Metric{}, nil, err
	}
	var secrets []string
	cache := map[string]string{}
	value := func(tag string) (string, bool, error) {
		name, ok := strings.CutPrefix(tag, "args.")
		if !ok {
			return "", false, nil
		}
		if v, ok := cache[name]; ok {
			return v, true, nil
		}
		i := slices.IndexFunc(args, func(a v1alpha1.Argument) bool { return a.Name == name })
		if i < 0 {
			return "", false, nil
		}
		v, err := argValue(args[i], resolve)
		if err != nil {
			return "", false, err
		}
		if isSecret(args[i]) {
			secrets = append(secrets, v)
		}
		cache[name] = v
		return v, true, nil
	}
	out, err := substitute(string(raw), value)
	if err != nil {
		return v1alpha1.Metric{}, nil, err
	}
	var resolved v1alpha1.Metric
	if err := json.Unmarshal([]byte(out), &resolved); err != nil {
		return v1alpha1.Metric{}, nil, fmt.Errorf("metric %q after substituting args: %v", m.Name, err)
	}
	return resolved, secrets, nil
}

// argValue is an argument's value; a secret reference wins over a literal,
// as in the reference, where the secret is read over the value.
func argValue(a v1alpha1.Argument, resolve Resolver) (string, error) {
	if a.Value != nil && !isSecret(a) {
		return *a.Value, nil
	}
	v, err := resolve(a)
	if err != nil {
		return "", fmt.Errorf("args.%s: %w", a.Name, err)
	}
	return v, nil
}

// substitute replaces every {{tag}} in s with the JSON-escaped value that
// value gives for the trimmed tag.
func substitute(s string, value func(tag string) (string, bool, error)) (string, error) {
	var b strings.Builder
	for {
		start := strings.Index(s, "{{")
		if start < 0 {
			b.WriteString(s)
			return b.String(), nil
		}
		end := strings.Index(s[start+2:], "}}")
		if end < 0 {
			return "", fmt.Errorf("unterminated {{ in %q", s[start:])
		}
		tag := s[start+2 : start+2+end]
		v, ok, err := value(strings.TrimSpace(tag))
		if err != nil {
			return "", err
		}
		if !ok {
			return "", fmt.Errorf("failed to resolve {{%s}}", tag)
		}
		b.WriteString(s[:start])
		b.WriteString(jsonEscape(v))
		s = s[start+2+end+2:]
	}
}

// jsonEscape is v as the inside of a JSON string. The reference uses
// strconv.Quote, which agrees on every value JSON can carry but writes Go
// escapes (\x01, \a, \v) that no JSON parser reads.
func jsonEscape(v string) string {
	quoted, _ := json.Marshal(v) // a string always marshals
	return string(quoted[1 : len(quoted)-1])
}

// Redact replaces every occurrence of each non-empty secret in s with
// "*****", longest first, so a secret that contains another is hidden
// whole.
func Redact(s string, secrets []string) string {
	sorted := slices.SortedFunc(slices.Values(secrets), func(a, b string) int { return cmp.Compare(len(b), len(a)) })
	for _, secret := range sorted {
		if secret != "" {
			s = strings.ReplaceAll(s, secret, Redacted)
		}
	}
	return s
}
