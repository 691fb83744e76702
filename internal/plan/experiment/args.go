package experiment

import (
	"fmt"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// Placeholders an Experiment's analysis args may use.
const (
	placeholderHash        = "templates.%s.podTemplateHash"
	placeholderRSName      = "templates.%s.replicaset.name"
	placeholderAvailableAt = "experiment.availableAt"
	placeholderFinishedAt  = "experiment.finishedAt"
)

// ArgValues are the values of the placeholders of an Experiment's analysis
// args: each template's pod-template hash and ReplicaSet name (of those
// with a ReplicaSet), and once available, availableAt and, with a
// duration, finishedAt (availableAt + duration), both RFC 3339.
func ArgValues(ex *v1alpha1.Experiment, byTemplate map[string]*appsv1.ReplicaSet, availableAt *metav1.Time) map[string]string {
	values := map[string]string{}
	if availableAt != nil {
		values[placeholderAvailableAt] = availableAt.UTC().Format(time.RFC3339)
		if d, err := ex.Spec.Duration.Duration(); ex.Spec.Duration != "" && err == nil {
			values[placeholderFinishedAt] = availableAt.Add(d).UTC().Format(time.RFC3339)
		}
	}
	for _, t := range ex.Spec.Templates {
		if rs := byTemplate[t.Name]; rs != nil {
			values[fmt.Sprintf(placeholderHash, t.Name)] = rs.Labels[v1alpha1.DefaultRolloutUniqueLabelKey]
			values[fmt.Sprintf(placeholderRSName, t.Name)] = rs.Name
		}
	}
	return values
}

// ResolveArgs replaces every {{placeholder}} (whitespace inside the braces
// ignored) in the args' values with values; an unknown placeholder is an
// error naming it, as in the reference ("failed to resolve {{x}}").
// valueFrom args pass through. The args are copied.
func ResolveArgs(args []v1alpha1.Argument, values map[string]string) ([]v1alpha1.Argument, error) {
	out := make([]v1alpha1.Argument, 0, len(args))
	for _, a := range args {
		a = *a.DeepCopy()
		if a.Value != nil {
			v, err := resolveString(*a.Value, values)
			if err != nil {
				return nil, fmt.Errorf("args %q: %w", a.Name, err)
			}
			a.Value = &v
		}
		out = append(out, a)
	}
	return out, nil
}

func resolveString(s string, values map[string]string) (string, error) {
	var b strings.Builder
	for {
		open := strings.Index(s, "{{")
		if open < 0 {
			b.WriteString(s)
			return b.String(), nil
		}
		end := strings.Index(s[open+2:], "}}")
		if end < 0 {
			// An unclosed brace is text, as fasttemplate leaves it.
			b.WriteString(s)
			return b.String(), nil
		}
		tag := s[open+2 : open+2+end]
		v, ok := values[strings.TrimSpace(tag)]
		if !ok {
			return "", fmt.Errorf("failed to resolve {{%s}}", tag)
		}
		b.WriteString(s[:open])
		b.WriteString(v)
		s = s[open+2+end+2:]
	}
}
