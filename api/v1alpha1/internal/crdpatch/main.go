// Command crdpatch adjusts the CRDs that controller-gen writes for the
// argoproj.io/v1alpha1 types so that they store embedded pod templates and
// Job specs exactly as Argo Rollouts v1.9 does. It runs as the last step of
// `make generate`:
//
//	go run ./api/v1alpha1/internal/crdpatch config/crd
//
// Three things are changed, all inside PodTemplateSpecs and JobSpecs only;
// the rest of their generated schema is kept:
//
//  1. The metadata of an embedded pod template (and of a Job metric) gets a
//     schema with labels and annotations. controller-gen describes it as a
//     bare object, which the API server would prune to {}.
//  2. Schema defaults are removed, except the ones the Argo Rollouts v1.9
//     CRDs carry (container ports' protocol, reference names, ...). The
//     pod-template hash is computed over the stored template, so the set of
//     server-side defaults inside it must be the same as in Argo Rollouts,
//     neither more nor fewer; a Kubernetes library upgrade that adds a
//     default is dropped here instead of silently changing every hash.
//  3. Resource quantities accept any JSON value. controller-gen types them
//     as integer-or-string, which rejects the common `cpu: 0.5`; Deployments
//     and Argo Rollouts (whose CRDs leave resources unvalidated) accept it,
//     and the value decodes to the same Quantity either way.
//
// Any file whose layout is not the expected one is an error, so a schema
// change cannot slip through unpatched.
package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"
)

// podSpecDefaults lists, relative to a PodSpec schema, the properties whose
// schema default Argo Rollouts v1.9's CRDs keep. The protocol of container
// ports must keep its default in any case: it is a key of the ports list
// map, and the API server requires such keys to be required or defaulted.
var podSpecDefaults = func() []string {
	paths := []string{"imagePullSecrets[].name"}
	for _, c := range []string{"containers", "initContainers", "ephemeralContainers"} {
		paths = append(paths,
			c+"[].env[].valueFrom.configMapKeyRef.name",
			c+"[].env[].valueFrom.fileKeyRef.optional",
			c+"[].env[].valueFrom.secretKeyRef.name",
			c+"[].envFrom[].configMapRef.name",
			c+"[].envFrom[].secretRef.name",
			c+"[].livenessProbe.grpc.service",
			c+"[].readinessProbe.grpc.service",
			c+"[].startupProbe.grpc.service",
			c+"[].ports[].protocol",
		)
	}
	return paths
}()

// metadataSchema is the schema of embedded object metadata: only labels and
// annotations are kept, as in Argo Rollouts.
func metadataSchema() map[string]any {
	stringMap := func() map[string]any {
		return map[string]any{
			"type":                 "object",
			"additionalProperties": map[string]any{"type": "string"},
		}
	}
	return map[string]any{
		"type": "object",
		"properties": map[string]any{
			"labels":      stringMap(),
			"annotations": stringMap(),
		},
	}
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: crdpatch DIR (the directory holding argoproj.io_*.yaml)")
		os.Exit(2)
	}
	if err := patchDir(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "crdpatch:", err)
		os.Exit(1)
	}
}

func patchDir(dir string) error {
	files, err := filepath.Glob(filepath.Join(dir, "argoproj.io_*.yaml"))
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("no argoproj.io_*.yaml in %s", dir)
	}
	for _, f := range files {
		if err := patchFile(f); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
	}
	return nil
}

func patchFile(path string) error {
	in, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	const separator = "---\n"
	var crd map[string]any
	if err := yaml.Unmarshal(bytes.TrimPrefix(in, []byte(separator)), &crd); err != nil {
		return err
	}
	if err := patchCRD(crd); err != nil {
		return err
	}
	out, err := yaml.Marshal(crd)
	if err != nil {
		return err
	}
	return os.WriteFile(path, append([]byte(separator), out...), 0o644)
}

func patchCRD(crd map[string]any) error {
	kind, _ := lookup(crd, "spec", "names", "kind").(string)
	versions, _ := lookup(crd, "spec", "versions").([]any)
	if len(versions) == 0 {
		return fmt.Errorf("no versions")
	}
	for _, v := range versions {
		root, ok := lookup(v, "schema", "openAPIV3Schema").(map[string]any)
		if !ok {
			return fmt.Errorf("kind %s: no openAPIV3Schema", kind)
		}
		var err error
		switch kind {
		case "Rollout":
			err = patchPodTemplate(root, "spec.template")
		case "Experiment":
			err = patchPodTemplate(root, "spec.templates[].template")
		case "AnalysisTemplate", "ClusterAnalysisTemplate", "AnalysisRun":
			err = patchJobMetric(root, "spec.metrics[].provider.job")
		default:
			err = fmt.Errorf("unexpected kind %q", kind)
		}
		if err != nil {
			return fmt.Errorf("kind %s: %w", kind, err)
		}
	}
	return nil
}

func patchPodTemplate(root map[string]any, path string) error {
	tmpl, err := schemaAt(root, path)
	if err != nil {
		return err
	}
	props, _ := tmpl["properties"].(map[string]any)
	if _, ok := props["metadata"]; !ok {
		return fmt.Errorf("%s has no metadata", path)
	}
	props["metadata"] = metadataSchema()
	spec, err := schemaAt(root, path+".spec")
	if err != nil {
		return err
	}
	if err := relaxQuantities(spec, path+".spec"); err != nil {
		return err
	}
	return keepDefaults(spec, path+".spec", podSpecDefaults)
}

// quantityPattern starts the pattern controller-gen gives resource.Quantity.
const quantityPattern = `^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))`

// relaxQuantities replaces every resource quantity schema below node with one
// that preserves any value, and fails if there is none (the container
// resources at least must be found, or the layout has changed).
func relaxQuantities(node map[string]any, where string) error {
	count := 0
	var walk func(n map[string]any)
	walk = func(n map[string]any) {
		pattern, _ := n["pattern"].(string)
		if n["x-kubernetes-int-or-string"] == true && strings.HasPrefix(pattern, quantityPattern) {
			clear(n)
			n["x-kubernetes-preserve-unknown-fields"] = true
			count++
			return
		}
		if props, ok := n["properties"].(map[string]any); ok {
			for _, child := range props {
				if c, ok := child.(map[string]any); ok {
					walk(c)
				}
			}
		}
		for _, key := range []string{"items", "additionalProperties"} {
			if c, ok := n[key].(map[string]any); ok {
				walk(c)
			}
		}
	}
	walk(node)
	if count == 0 {
		return fmt.Errorf("%s: no resource quantity schema found, review crdpatch", where)
	}
	return nil
}

func patchJobMetric(root map[string]any, path string) error {
	job, err := schemaAt(root, path)
	if err != nil {
		return err
	}
	props, _ := job["properties"].(map[string]any)
	if _, ok := props["metadata"]; !ok {
		return fmt.Errorf("%s has no metadata", path)
	}
	props["metadata"] = metadataSchema()
	if err := patchPodTemplate(root, path+".spec.template"); err != nil {
		return err
	}
	// The rest of the JobSpec keeps no defaults either.
	spec, err := schemaAt(root, path+".spec")
	if err != nil {
		return err
	}
	allowed := make([]string, len(podSpecDefaults))
	for i, p := range podSpecDefaults {
		allowed[i] = "template.spec." + p
	}
	return keepDefaults(spec, path+".spec", allowed)
}

// keepDefaults removes every schema default below node except at the allowed
// relative paths, and fails if an allowed path has no default: that would
// mean the Kubernetes types changed and the allowlist needs a review.
func keepDefaults(node map[string]any, where string, allowed []string) error {
	keep := map[string]bool{}
	for _, p := range allowed {
		keep[p] = true
	}
	found := map[string]bool{}
	var walk func(n map[string]any, rel string)
	walk = func(n map[string]any, rel string) {
		if _, ok := n["default"]; ok {
			if keep[rel] {
				found[rel] = true
			} else {
				delete(n, "default")
			}
		}
		if props, ok := n["properties"].(map[string]any); ok {
			for name, child := range props {
				if c, ok := child.(map[string]any); ok {
					walk(c, join(rel, name))
				}
			}
		}
		if items, ok := n["items"].(map[string]any); ok {
			walk(items, rel+"[]")
		}
		if ap, ok := n["additionalProperties"].(map[string]any); ok {
			walk(ap, rel+"{}")
		}
	}
	walk(node, "")
	var missing []string
	for _, p := range allowed {
		if !found[p] {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return fmt.Errorf("%s: expected schema defaults are gone, review the allowlist: %s", where, strings.Join(missing, ", "))
	}
	return nil
}

func join(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

// schemaAt walks a dotted schema path where "name[]" steps into the items of
// an array property.
func schemaAt(root map[string]any, path string) (map[string]any, error) {
	node := root
	for _, part := range strings.Split(path, ".") {
		name, isList := strings.CutSuffix(part, "[]")
		next, ok := lookup(node, "properties", name).(map[string]any)
		if !ok {
			return nil, fmt.Errorf("schema has no %s (at %q)", path, name)
		}
		if isList {
			if next, ok = next["items"].(map[string]any); !ok {
				return nil, fmt.Errorf("schema has no items for %s (at %q)", path, name)
			}
		}
		node = next
	}
	return node, nil
}

func lookup(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}
