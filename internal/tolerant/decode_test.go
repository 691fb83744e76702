package tolerant

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

const badRollout = `apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: web, namespace: ns}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: ok
        image: nginx
        resources: {requests: {memory: 64Mi}}
      - name: app
        image: nginx
        resources: {requests: {cpu: 100m, memory: invalid}}
  strategy: {canary: {steps: [{setWeight: 20}]}}
`

const badRun = `apiVersion: argoproj.io/v1alpha1
kind: AnalysisRun
metadata: {name: run, namespace: ns}
spec:
  metrics:
  - name: smoke
    provider:
      job:
        spec:
          template:
            spec:
              restartPolicy: Never
              containers:
              - name: smoke
                image: busybox
                resources: {limits: {cpu: lots}}
`

const badTemplate = `apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata: {name: tpl, namespace: ns}
spec:
  metrics:
  - name: first
    provider: {web: {url: "http://x"}}
  - name: second
    provider: {web: {url: "http://x", timeoutSeconds: ten}}
`

const badExperiment = `apiVersion: argoproj.io/v1alpha1
kind: Experiment
metadata:
  name: exp
  namespace: ns
  annotations: {"example.com/note": "x"}
spec:
  templates:
  - name: baseline
    selector: {matchLabels: {app: b}}
    template:
      metadata: {labels: {app: b}}
      spec:
        containers:
        - name: b
          image: nginx
          ports: [{containerPort: eighty}]
`

func parse(t *testing.T, doc string) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
		t.Fatal(err)
	}
	// Numbers as the dynamic client gives them.
	raw, err := u.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	u = &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(raw); err != nil {
		t.Fatal(err)
	}
	return u
}

func TestDecodeNamesTheField(t *testing.T) {
	quantity := "quantities must match the regular expression"
	for _, tc := range []struct {
		name, doc string
		into      runtime.Object
		path      string
		value     any
		cause     string
	}{
		{"rollout quantity", badRollout, &v1alpha1.Rollout{},
			"spec.template.spec.containers[1].resources.requests.memory", "invalid", quantity},
		{"analysis run job quantity", badRun, &v1alpha1.AnalysisRun{},
			"spec.metrics[0].provider.job.spec.template.spec.containers[0].resources.limits.cpu", "lots", quantity},
		{"template wrong type", badTemplate, &v1alpha1.AnalysisTemplate{},
			"spec.metrics[1].provider.web.timeoutSeconds", "ten", "cannot unmarshal string"},
		{"experiment port", badExperiment, &v1alpha1.Experiment{},
			"spec.templates[0].template.spec.containers[0].ports[0].containerPort", "eighty", "cannot unmarshal string"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Decode(parse(t, tc.doc), tc.into)
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("want a *DecodeError, got %v", err)
			}
			if de.Path != tc.path || de.Value != tc.value || !strings.Contains(de.Err.Error(), tc.cause) {
				t.Fatalf("got path %q value %v err %v", de.Path, de.Value, de.Err)
			}
			want := tc.path + ": \"" + tc.value.(string) + "\": "
			if !strings.HasPrefix(err.Error(), want) {
				t.Errorf("message %q does not start with %q", err, want)
			}
		})
	}
}

func TestDecodeGoodObject(t *testing.T) {
	u := parse(t, strings.Replace(badRollout, "memory: invalid", "memory: 128Mi", 1))
	var ro v1alpha1.Rollout
	if err := Decode(u, &ro); err != nil {
		t.Fatal(err)
	}
	if ro.Name != "web" || ro.Spec.Template.Spec.Containers[1].Resources.Requests.Memory().String() != "128Mi" {
		t.Fatalf("decoded %+v", ro.ObjectMeta)
	}
}

func TestLocateKeysAndContainers(t *testing.T) {
	// A map key that is not an identifier is quoted; a list or map value
	// is never echoed.
	u := parse(t, `apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: web
  labels: {"example.com/tier": [1, 2]}
spec: {}
`)
	err := Decode(u, &v1alpha1.Rollout{})
	var de *DecodeError
	if !errors.As(err, &de) || de.Path != `metadata.labels["example.com/tier"]` || de.Value != nil {
		t.Fatalf("got %v (%#v)", err, de)
	}
	if strings.Contains(err.Error(), "[1 2]") {
		t.Errorf("a list value was echoed: %v", err)
	}
}

func TestJSONFieldsFlattensEmbedded(t *testing.T) {
	type inner struct {
		A int `json:"a"`
		B int `json:"b"`
	}
	type outer struct {
		inner `json:",inline"`
		B     string `json:"b"`
		C     int    `json:"-"`
		D     int
	}
	f := jsonFields(reflectTypeOf[outer]())
	if f["a"] == nil || f["b"].Kind().String() != "string" || f["C"] != nil || f["-"] != nil || f["D"] == nil {
		t.Fatalf("fields %v", f)
	}
}

func reflectTypeOf[T any]() reflect.Type { return reflect.TypeFor[T]() }
