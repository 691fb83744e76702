// Package templates builds AnalysisRun specs from AnalysisTemplates and
// ClusterAnalysisTemplates, and resolves a run's {{args.*}} placeholders
// and IntOrString fields into what the analysis engine reads. It is pure:
// templates come through a lookup function and secrets through a resolver.
package templates

import (
	"fmt"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// Lookup fetches the spec of the AnalysisTemplate (in the rollout's
// namespace) or, with clusterScope, the ClusterAnalysisTemplate called name.
type Lookup func(name string, clusterScope bool) (*v1alpha1.AnalysisTemplateSpec, error)

// Template is a fetched template and where it came from.
type Template struct {
	Name         string
	ClusterScope bool
	Spec         *v1alpha1.AnalysisTemplateSpec
}

// String names the template with its kind, as errors quote it.
func (t Template) String() string {
	if t.ClusterScope {
		return fmt.Sprintf("ClusterAnalysisTemplate %q", t.Name)
	}
	return fmt.Sprintf("AnalysisTemplate %q", t.Name)
}

type key struct {
	name    string
	cluster bool
}

// Collect fetches the referenced templates and, recursively, the templates
// they nest, each once (a template referenced twice, or in a cycle, is
// fetched the first time only). The result lists the namespaced templates,
// then the cluster ones, each in depth-first order of discovery, which is
// the order their metrics and arguments merge in. A lookup error names the
// template and wraps the lookup's error, so NotFound stays detectable.
func Collect(refs []v1alpha1.AnalysisTemplateRef, lookup Lookup) ([]Template, error) {
	seen := map[key]bool{}
	var namespaced, cluster []Template
	var visit func(refs []v1alpha1.AnalysisTemplateRef) error
	visit = func(refs []v1alpha1.AnalysisTemplateRef) error {
		for _, ref := range refs {
			k := key{ref.TemplateName, ref.IsClusterScope()}
			if seen[k] {
				continue
			}
			seen[k] = true
			t := Template{Name: k.name, ClusterScope: k.cluster}
			spec, err := lookup(k.name, k.cluster)
			if err != nil {
				return fmt.Errorf("%s: %w", t, err)
			}
			if spec == nil {
				return fmt.Errorf("%s: not found", t)
			}
			t.Spec = spec
			if t.ClusterScope {
				cluster = append(cluster, t)
			} else {
				namespaced = append(namespaced, t)
			}
			if err := visit(spec.Templates); err != nil {
				return err
			}
		}
		return nil
	}
	if err := visit(refs); err != nil {
		return nil, err
	}
	return append(namespaced, cluster...), nil
}
