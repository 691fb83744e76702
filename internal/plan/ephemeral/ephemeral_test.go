package ephemeral

import (
	"maps"
	"testing"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

func TestSwapKeepsUserLabels(t *testing.T) {
	canary := &v1alpha1.PodTemplateMetadata{Labels: map[string]string{"deployment": "canary"}, Annotations: map[string]string{"role": "canary"}}
	stable := &v1alpha1.PodTemplateMetadata{Labels: map[string]string{"deployment": "stable"}}
	l, a := Swap(map[string]string{"app": "web", "deployment": "canary"}, map[string]string{"note": "x", "role": "canary"}, canary, stable)
	if !maps.Equal(l, map[string]string{"app": "web", "deployment": "stable"}) || !maps.Equal(a, map[string]string{"note": "x"}) {
		t.Errorf("got labels %v annotations %v", l, a)
	}
}

func TestRecordRoundTrip(t *testing.T) {
	m := &v1alpha1.PodTemplateMetadata{Labels: map[string]string{"deployment": "canary"}}
	got := Recorded(map[string]string{v1alpha1.EphemeralMetadataAnnotation: Encode(m)})
	if got == nil || got.Labels["deployment"] != "canary" {
		t.Errorf("round trip: %v", got)
	}
	if Recorded(map[string]string{v1alpha1.EphemeralMetadataAnnotation: "{not json"}) != nil || Encode(nil) != "" || Encode(&v1alpha1.PodTemplateMetadata{}) != "" {
		t.Error("unreadable or empty metadata must read and encode as none")
	}
}
