package templates

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// RolloutArgs resolves a Rollout's analysis args: literal values, the stable
// or latest pod-template hash, and field paths into the Rollout.
func RolloutArgs(ro *v1alpha1.Rollout, in []v1alpha1.AnalysisRunArgument, stable, latest string) ([]v1alpha1.Argument, error) {
	var out []v1alpha1.Argument
	for _, a := range in {
		v := a.Value
		if f := a.ValueFrom; f != nil {
			switch {
			case f.PodTemplateHashValue != nil && *f.PodTemplateHashValue == v1alpha1.Stable:
				v = stable
			case f.PodTemplateHashValue != nil && *f.PodTemplateHashValue == v1alpha1.Latest:
				v = latest
			case f.PodTemplateHashValue != nil:
				return nil, fmt.Errorf("analysis arg %q: podTemplateHashValue %q must be Stable or Latest", a.Name, *f.PodTemplateHashValue)
			case f.FieldRef != nil:
				var err error
				if v, err = FieldValue(ro, f.FieldRef.FieldPath); err != nil {
					return nil, fmt.Errorf("analysis arg %q: fieldRef %q: %w", a.Name, f.FieldRef.FieldPath, err)
				}
			}
		}
		out = append(out, v1alpha1.Argument{Name: a.Name, Value: &v})
	}
	return out, nil
}

var mapKey = regexp.MustCompile(`^(labels|annotations)\['(.*)'\]$`)

// FieldValue reads a field path from the Rollout: metadata.labels['k'] and
// metadata.annotations['k'] as the downward API does, any other path
// (spec.template.spec.containers[0].image) walked through its JSON to a
// primitive value.
func FieldValue(ro *v1alpha1.Rollout, path string) (string, error) {
	if rest, ok := strings.CutPrefix(path, "metadata."); ok {
		if m := mapKey.FindStringSubmatch(rest); m != nil {
			if m[1] == "labels" {
				return ro.Labels[m[2]], nil
			}
			return ro.Annotations[m[2]], nil
		}
	}
	raw, err := json.Marshal(ro)
	if err != nil {
		return "", err
	}
	var cur any
	if err := json.Unmarshal(raw, &cur); err != nil {
		return "", err
	}
	for _, part := range strings.Split(path, ".") {
		name, index, hasIndex := strings.Cut(part, "[")
		obj, ok := cur.(map[string]any)
		if !ok {
			return "", fmt.Errorf("%s is not an object", name)
		}
		if cur, ok = obj[name]; !ok {
			return "", fmt.Errorf("no field %s", name)
		}
		if hasIndex {
			i, err := strconv.Atoi(strings.TrimSuffix(index, "]"))
			list, isList := cur.([]any)
			if err != nil || !isList || i < 0 || i >= len(list) {
				return "", fmt.Errorf("%s[%s is not a valid index", name, index)
			}
			cur = list[i]
		}
	}
	switch v := cur.(type) {
	case string:
		return v, nil
	case float64, bool:
		return fmt.Sprint(v), nil
	}
	return "", fmt.Errorf("the path does not end at a string, number or boolean")
}
