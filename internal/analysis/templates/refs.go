package templates

import (
	"fmt"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// Ref is one template a Rollout names and the field that names it.
type Ref struct {
	// Field is the path of the templateName field, as the user wrote it
	// (spec.strategy.canary.analysis.templates[0].templateName).
	Field        string
	Name         string
	ClusterScope bool
}

// Kind is the template's kind.
func (t Template) Kind() string {
	if t.ClusterScope {
		return "ClusterAnalysisTemplate"
	}
	return "AnalysisTemplate"
}

// String names the referenced template with its kind.
func (r Ref) String() string { return Template{Name: r.Name, ClusterScope: r.ClusterScope}.String() }

// RolloutRefs lists every template a Rollout names, in spec order: the
// canary's background analysis, each step's analysis and experiment
// analyses, and the blue-green pre- and post-promotion analyses. References
// without a name are left to validation.
func RolloutRefs(ro *v1alpha1.Rollout) []Ref {
	var out []Ref
	add := func(prefix string, refs []v1alpha1.AnalysisTemplateRef) {
		for i, t := range refs {
			if t.TemplateName != "" {
				out = append(out, Ref{Field: fmt.Sprintf("%s.templates[%d].templateName", prefix, i), Name: t.TemplateName, ClusterScope: t.IsClusterScope()})
			}
		}
	}
	if c := ro.Spec.Strategy.Canary; c != nil {
		if c.Analysis != nil {
			add("spec.strategy.canary.analysis", c.Analysis.Templates)
		}
		for i, step := range c.Steps {
			if step.Analysis != nil {
				add(fmt.Sprintf("spec.strategy.canary.steps[%d].analysis", i), step.Analysis.Templates)
			}
			if step.Experiment == nil {
				continue
			}
			for j, a := range step.Experiment.Analyses {
				if a.TemplateName != "" {
					out = append(out, Ref{Field: fmt.Sprintf("spec.strategy.canary.steps[%d].experiment.analyses[%d].templateName", i, j),
						Name: a.TemplateName, ClusterScope: a.IsClusterScope()})
				}
			}
		}
	}
	if bg := ro.Spec.Strategy.BlueGreen; bg != nil {
		if bg.PrePromotionAnalysis != nil {
			add("spec.strategy.blueGreen.prePromotionAnalysis", bg.PrePromotionAnalysis.Templates)
		}
		if bg.PostPromotionAnalysis != nil {
			add("spec.strategy.blueGreen.postPromotionAnalysis", bg.PostPromotionAnalysis.Templates)
		}
	}
	return out
}

// Missing checks that every referenced template exists, and every template
// those nest, and returns a message for the first that does not — naming
// the Rollout's field, the template and the fix — or "" when all exist.
// lookup returns (nil, nil) for a template that does not exist; any other
// error is returned as it is (the caller retries). Each template is looked
// up once however often it is named.
func Missing(refs []Ref, namespace string, lookup Lookup) (string, error) {
	found := map[key]*v1alpha1.AnalysisTemplateSpec{}
	get := func(name string, cluster bool) (*v1alpha1.AnalysisTemplateSpec, error) {
		k := key{name, cluster}
		if spec, ok := found[k]; ok {
			return spec, nil
		}
		spec, err := lookup(name, cluster)
		if err != nil {
			return nil, err
		}
		found[k] = spec
		return spec, nil
	}
	where := func(t Template) string {
		if t.ClusterScope {
			return "not found in the cluster"
		}
		return "not found in namespace " + namespace
	}
	for _, ref := range refs {
		top := Template{Name: ref.Name, ClusterScope: ref.ClusterScope}
		spec, err := get(ref.Name, ref.ClusterScope)
		if err != nil {
			return "", fmt.Errorf("%s: read %s: %w", ref.Field, top, err)
		}
		if spec == nil {
			return fmt.Sprintf("%s: %s %s; create it or fix the name", ref.Field, top, where(top)), nil
		}
		// Nested templates, breadth first; a cycle is visited once.
		seen := map[key]bool{{ref.Name, ref.ClusterScope}: true}
		queue := []struct {
			parent Template
			spec   *v1alpha1.AnalysisTemplateSpec
		}{{top, spec}}
		for len(queue) > 0 {
			cur := queue[0]
			queue = queue[1:]
			for i, n := range cur.spec.Templates {
				k := key{n.TemplateName, n.IsClusterScope()}
				if n.TemplateName == "" || seen[k] {
					continue
				}
				seen[k] = true
				nested := Template{Name: k.name, ClusterScope: k.cluster}
				nspec, err := get(k.name, k.cluster)
				if err != nil {
					return "", fmt.Errorf("%s: read %s nested in %s: %w", ref.Field, nested, cur.parent, err)
				}
				if nspec == nil {
					return fmt.Sprintf("%s: %s nests %s (its spec.templates[%d]), which is %s; create it or fix the name in %s",
						ref.Field, cur.parent, nested, i, where(nested), cur.parent), nil
				}
				queue = append(queue, struct {
					parent Template
					spec   *v1alpha1.AnalysisTemplateSpec
				}{nested, nspec})
			}
		}
	}
	return "", nil
}
