package main

import (
	"strings"
	"testing"
)

func obj(props map[string]any) map[string]any {
	return map[string]any{"type": "object", "properties": props}
}

func list(item map[string]any) map[string]any {
	return map[string]any{"type": "array", "items": item}
}

func quantity() map[string]any {
	return map[string]any{
		"anyOf":                      []any{map[string]any{"type": "integer"}, map[string]any{"type": "string"}},
		"pattern":                    quantityPattern + "(([KMGTPE]i)|[numkMGTPE])?$",
		"x-kubernetes-int-or-string": true,
	}
}

func podTemplateSchema(portDefault bool) map[string]any {
	protocol := map[string]any{"type": "string"}
	if portDefault {
		protocol["default"] = "TCP"
	}
	container := obj(map[string]any{
		"ports": list(obj(map[string]any{"protocol": protocol})),
		"name":  map[string]any{"type": "string", "default": "dropped"},
		"resources": obj(map[string]any{"limits": map[string]any{
			"type":                 "object",
			"additionalProperties": quantity(),
		}}),
	})
	return obj(map[string]any{
		"metadata": map[string]any{"type": "object"},
		"spec": obj(map[string]any{
			"containers": list(container),
			"volumes":    list(obj(map[string]any{"fsType": map[string]any{"type": "string", "default": "ext4"}})),
		}),
	})
}

func TestKeepDefaults(t *testing.T) {
	root := obj(map[string]any{"spec": obj(map[string]any{"template": podTemplateSchema(true)})})
	allowed := []string{"containers[].ports[].protocol"}
	spec, err := schemaAt(root, "spec.template.spec")
	if err != nil {
		t.Fatal(err)
	}
	if err := keepDefaults(spec, "spec.template.spec", allowed); err != nil {
		t.Fatal(err)
	}
	c, _ := schemaAt(root, "spec.template.spec.containers[]")
	if _, ok := lookup(c, "properties", "name").(map[string]any)["default"]; ok {
		t.Error("a default outside the allowlist was kept")
	}
	p, _ := schemaAt(root, "spec.template.spec.containers[].ports[].protocol")
	if p["default"] != "TCP" {
		t.Error("an allowlisted default was removed")
	}
	v, _ := schemaAt(root, "spec.template.spec.volumes[].fsType")
	if _, ok := v["default"]; ok {
		t.Error("a volume default was kept")
	}

	// An allowlisted default that disappeared is an error.
	root = obj(map[string]any{"spec": obj(map[string]any{"template": podTemplateSchema(false)})})
	spec, _ = schemaAt(root, "spec.template.spec")
	err = keepDefaults(spec, "spec.template.spec", allowed)
	if err == nil || !strings.Contains(err.Error(), "containers[].ports[].protocol") {
		t.Errorf("want an error naming the missing default, got %v", err)
	}
}

func TestPatchCRD(t *testing.T) {
	crd := map[string]any{"spec": map[string]any{
		"names": map[string]any{"kind": "Experiment"},
		"versions": []any{map[string]any{"schema": map[string]any{"openAPIV3Schema": obj(map[string]any{
			"spec": obj(map[string]any{"templates": list(obj(map[string]any{"template": podTemplateSchema(true)}))}),
		})}}},
	}}
	// The allowlist names defaults this toy schema lacks.
	err := patchCRD(crd)
	if err == nil || !strings.Contains(err.Error(), "expected schema defaults are gone") {
		t.Fatalf("want a missing-defaults error, got %v", err)
	}
	md, _ := schemaAt(lookup(crd, "spec", "versions").([]any)[0].(map[string]any)["schema"].(map[string]any)["openAPIV3Schema"].(map[string]any), "spec.templates[].template.metadata")
	if lookup(md, "properties", "labels") == nil || lookup(md, "properties", "annotations") == nil {
		t.Errorf("template metadata was not given labels and annotations: %v", md)
	}

	if err := patchCRD(map[string]any{"spec": map[string]any{"names": map[string]any{"kind": "Other"}, "versions": []any{map[string]any{"schema": map[string]any{"openAPIV3Schema": obj(nil)}}}}}); err == nil {
		t.Error("an unknown kind must be an error")
	}
	if _, err := schemaAt(obj(nil), "spec.template"); err == nil {
		t.Error("a missing path must be an error")
	}
}

func TestRelaxQuantities(t *testing.T) {
	tmpl := podTemplateSchema(true)
	spec := tmpl["properties"].(map[string]any)["spec"].(map[string]any)
	intOrString := map[string]any{"x-kubernetes-int-or-string": true}
	spec["properties"].(map[string]any)["port"] = intOrString
	if err := relaxQuantities(spec, "spec"); err != nil {
		t.Fatal(err)
	}
	q, _ := schemaAt(obj(map[string]any{"spec": spec}), "spec.containers[].resources.limits")
	want := map[string]any{"x-kubernetes-preserve-unknown-fields": true}
	if got := q["additionalProperties"].(map[string]any); len(got) != 1 || got["x-kubernetes-preserve-unknown-fields"] != true {
		t.Errorf("quantity schema = %v, want %v", got, want)
	}
	if len(intOrString) != 1 {
		t.Errorf("a plain int-or-string was changed: %v", intOrString)
	}
	if err := relaxQuantities(obj(nil), "spec"); err == nil {
		t.Error("no quantity at all must be an error")
	}
}
