// Package traffictest holds what the routers' tests share.
package traffictest

import (
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// Object decodes a YAML manifest as the API server's JSON decoder would
// (integers as int64).
func Object(t testing.TB, doc string) *unstructured.Unstructured {
	t.Helper()
	j, err := yaml.YAMLToJSON([]byte(doc))
	if err != nil {
		t.Fatalf("yaml: %v\n%s", err, doc)
	}
	obj := &unstructured.Unstructured{}
	if err := obj.UnmarshalJSON(j); err != nil {
		t.Fatalf("decode: %v\n%s", err, doc)
	}
	return obj
}
