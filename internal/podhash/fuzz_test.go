package podhash

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// hashAlphabet holds the characters encode may produce (those of
// k8s.io/apimachinery/pkg/util/rand.SafeEncodeString).
const hashAlphabet = "bcdfghjklmnpqrstvwxz2456789"

func checkHash(t *testing.T, what, h string) {
	t.Helper()
	if h == "" || strings.Trim(h, hashAlphabet) != "" {
		t.Fatalf("%s hash %q is not a name suffix", what, h)
	}
}

// decode reads data as the controller's client does (case-sensitive,
// integers kept as integers).
func decode(data []byte, into any) bool {
	return kjson.UnmarshalCaseSensitivePreserveInts(data, into) == nil
}

// FuzzPodTemplateHash hashes any pod template the controller can decode,
// with and without a collision count. Properties: no panic (the hash runs
// on every reconcile, before anything else could reject the template);
// the template is not modified; the hash is a valid name suffix; and it
// is stable: the same template read back from its own JSON, as the next
// reconcile reads it from the API server, hashes the same, so the Rollout
// does not redeploy.
func FuzzPodTemplateHash(f *testing.F) {
	for _, c := range templateCases {
		data, err := yaml.YAMLToJSON([]byte(c.yaml))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, int32(0), false)
		f.Add(data, int32(7), true)
	}
	for _, s := range []string{
		`{"metadata":{"creationTimestamp":"2024-01-01T00:00:00+01:00","labels":{"app":"web"}},"spec":{"containers":[{"name":"app","image":"nginx"}]}}`,
		`{"metadata":{"creationTimestamp":"0000-01-01T00:30:00+01:00"}}`,
		`{"metadata":{"deletionTimestamp":"9999-12-31T23:30:00-01:00"}}`,
		`{"spec":{"containers":[{"name":"app","resources":{"requests":{"cpu":"0.0001","memory":"1e3"},"limits":{"cpu":"1000000000000000000000m","memory":"1.5Gi"}}}]}}`,
		`{"spec":{"containers":[{"name":"app","ports":[{"containerPort":-1}],"readinessProbe":{"httpGet":{"port":"http"}},"livenessProbe":{"tcpSocket":{"port":8080}}}]}}`,
		`{"spec":{"overhead":{"cpu":"-1"},"activeDeadlineSeconds":-9223372036854775808,"terminationGracePeriodSeconds":9223372036854775807}}`,
		`{"metadata":{"annotations":{"a":"\u0000\ud800"}},"spec":{"containers":null,"initContainers":[],"volumes":[{"name":"v","emptyDir":{"sizeLimit":"1Ei"}}]}}`,
	} {
		f.Add([]byte(s), int32(-1), true)
	}
	f.Fuzz(func(t *testing.T, data []byte, collision int32, useCollision bool) {
		var tmpl corev1.PodTemplateSpec
		if !decode(data, &tmpl) {
			return
		}
		var cc *int32
		if useCollision {
			cc = &collision
		}
		before := tmpl.DeepCopy()
		h := PodTemplateHash(&tmpl, cc)
		legacy := LegacyPodTemplateHash(&tmpl, cc)
		if !reflect.DeepEqual(before, &tmpl) {
			t.Fatal("hashing modified the template")
		}
		checkHash(t, "pod-template", h)
		checkHash(t, "legacy pod-template", legacy)

		stored, err := json.Marshal(&tmpl)
		if err != nil {
			t.Fatalf("the hashed template does not encode: %v", err)
		}
		var reread corev1.PodTemplateSpec
		if !decode(stored, &reread) {
			// The API server keeps what the controller cannot read back;
			// nothing to compare.
			return
		}
		if again := PodTemplateHash(&reread, cc); again != h {
			t.Fatalf("hash %s, but %s for the same template read back from %s", h, again, stored)
		}
	})
}

// FuzzStepHash hashes any canary step list the controller can decode.
// Properties: no panic; a valid name suffix; stable across a re-read, as
// for the pod-template hash (a changed step hash restarts the steps).
func FuzzStepHash(f *testing.F) {
	for _, c := range stepCases {
		data, err := yaml.YAMLToJSON([]byte(c.doc))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		`[{"pause":{"duration":"1h2x"}},{"pause":{"duration":-1}},{"setWeight":-5}]`,
		`[{"plugin":{"name":"p","config":null}},{"plugin":{"name":"p","config":"x"}},{"plugin":{"name":"p","config":{"a":1e400}}}]`,
		`[{"experiment":{"duration":"5m","templates":[{"name":"t","specRef":"canary","selector":{"matchExpressions":[{"key":"a","operator":"Bogus"}]},"metadata":{"labels":{"a":"b"}},"weight":-1}]}}]`,
		`[{},{"setHeaderRoute":{"name":"h","match":[{"headerName":"x","headerValue":{}}]}}]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var steps []v1alpha1.CanaryStep
		if !decode(data, &steps) {
			return
		}
		h := StepHash(steps)
		checkHash(t, "step", h)
		ro := &v1alpha1.Rollout{}
		ro.Spec.Strategy.Canary = &v1alpha1.CanaryStrategy{Steps: steps}
		if got := RolloutStepHash(ro); got != h {
			t.Fatalf("RolloutStepHash %s, StepHash %s", got, h)
		}
		stored, err := json.Marshal(steps)
		if err != nil {
			t.Fatalf("the hashed steps do not encode: %v", err)
		}
		var reread []v1alpha1.CanaryStep
		if !decode(stored, &reread) {
			return
		}
		if again := StepHash(reread); again != h {
			t.Fatalf("hash %s, but %s for the same steps read back from %s", h, again, stored)
		}
	})
}

// TestHashesNeverPanic covers what the fuzz targets cannot reach through
// JSON: a plugin config set in memory that is not JSON at all.
func TestHashesNeverPanic(t *testing.T) {
	steps := []v1alpha1.CanaryStep{{Plugin: &v1alpha1.PluginStep{Name: "p", Config: json.RawMessage("not json")}}}
	h := StepHash(steps)
	checkHash(t, "step", h)
	if StepHash(steps) != h {
		t.Error("the fallback hash is not deterministic")
	}
	steps[0].Plugin.Config = json.RawMessage("still not json")
	if StepHash(steps) == h {
		t.Error("the fallback hash ignores the config")
	}
}
