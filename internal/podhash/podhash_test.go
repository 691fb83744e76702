package podhash

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// The golden hashes below were printed by a throwaway program that decoded
// the same literals into Argo Rollouts v1.9.1's own types (built with its
// pinned k8s.io v0.34.1 libraries) and called its utils/hash
// ComputePodTemplateHash and utils/conditions ComputeStepHash, after the
// controller's JSON round trip of the Rollout. The templateCases "empty"
// hashes and the nil-steps hash were also checked by hand (FNV-32a over
// {"metadata":{},"spec":{"containers":null}} and over null).

// collisionCounts are the status.collisionCount values every template is
// hashed with; the keys index templateCase.want.
var collisionCounts = []struct {
	key   string
	count *int32
}{
	{"nil", nil},
	{"0", new(int32(0))},
	{"1", new(int32(1))},
	{"7", new(int32(7))},
	{"300", new(int32(300))},
}

type templateCase struct {
	name string
	yaml string
	want map[string]string // by collisionCounts key
}

// stepCase decodes doc with encoding/json when the name ends in "JSON" (to
// keep the raw plugin config bytes), else as YAML.
type stepCase struct {
	name string
	want string
	doc  string
}

type rolloutCase struct {
	name     string
	yaml     string
	wantPod  string
	wantStep string
}

var templateCases = []templateCase{
	{
		name: "empty",
		yaml: `
{}
`,
		want: map[string]string{"nil": "658c46c486", "0": "6f9d9db974", "1": "6746d5bbc", "7": "77b7b4b977", "300": "69bd55d97c"},
	},
	{
		name: "minimal",
		yaml: `
spec:
  containers:
  - name: app
    image: nginx:1.25
`,
		want: map[string]string{"nil": "987dd4ff5", "0": "774f576cff", "1": "5c868c47bb", "7": "f768747b4", "300": "7bffb44cf6"},
	},
	{
		name: "creationTimestampNull",
		yaml: `
metadata:
  creationTimestamp: null
  labels:
    app: demo
spec:
  containers:
  - name: app
    image: nginx:1.25
    resources: {}
`,
		want: map[string]string{"nil": "787b7d784d", "0": "644b9ccd84", "1": "79c76846c7", "7": "dd756fd7", "300": "5b5b54fd8c"},
	},
	{
		name: "full",
		yaml: `
metadata:
  labels:
    app: demo
    tier: web
  annotations:
    prometheus.io/scrape: "true"
    example.com/note: "a b"
spec:
  containers:
  - name: app
    image: registry.example.com/demo:v2
    args: ["--port=8080", "--verbose"]
    env:
    - name: MODE
      value: canary
    - name: POD_NAME
      valueFrom:
        fieldRef:
          fieldPath: metadata.name
    ports:
    - name: http
      containerPort: 8080
      protocol: TCP
    - name: metrics
      containerPort: 9090
      protocol: UDP
    resources:
      requests:
        cpu: "0.5"
        memory: 1024Mi
      limits:
        cpu: 1000m
        memory: 2Gi
    readinessProbe:
      httpGet:
        path: /healthz
        port: http
      periodSeconds: 5
  terminationGracePeriodSeconds: 30
  nodeSelector:
    kubernetes.io/os: linux
`,
		want: map[string]string{"nil": "7b5b547c9d", "0": "5f6c8cc95d", "1": "78f857ff95", "7": "6bd84fff89", "300": "84c7fb8c45"},
	},
}

var stepCases = []stepCase{
	{name: "nil", want: "5ffbfbbd64", doc: `
null
`},
	{name: "empty", want: "5ffbfbbd64", doc: `
[]
`},
	{name: "weightAndIndefinitePause", want: "54649b9f5c", doc: `
- setWeight: 20
- pause: {}
`},
	{name: "pauseIntDuration", want: "56bd46b58b", doc: `
- setWeight: 20
- pause:
    duration: 30
`},
	{name: "pauseStringDurations", want: "6bb8dd58d", doc: `
- setWeight: 10
- pause:
    duration: "30"
- setWeight: 50
- pause:
    duration: 1h
- setWeight: 100
`},
	{name: "analysis", want: "7b54dd99f5", doc: `
- setWeight: 20
- analysis:
    templates:
    - templateName: success-rate
    - templateName: cluster-check
      clusterScope: true
    args:
    - name: service-name
      value: demo-canary
    - name: canary-hash
      valueFrom:
        podTemplateHashValue: Latest
    - name: region
      valueFrom:
        fieldRef:
          fieldPath: metadata.labels['region']
- pause:
    duration: 10m
`},
	{name: "trafficSteps", want: "5db5dfc79d", doc: `
- setCanaryScale:
    replicas: 3
- setHeaderRoute:
    name: header-route
    match:
    - headerName: X-Canary
      headerValue:
        exact: "yes"
- setMirrorRoute:
    name: mirror-route
    percentage: 35
    match:
    - method:
        exact: GET
      path:
        prefix: /api
      headers:
        x-b: {regex: ".*"}
        x-a: {exact: "1"}
- setWeight: 40
- setCanaryScale:
    matchTrafficWeight: true
- experiment:
    duration: 5m
    templates:
    - name: baseline
      specRef: stable
      replicas: 1
    analyses:
    - name: compare
      templateName: ab-test
      requiredForCompletion: true
- plugin:
    name: example/step
    config: { "b": [1, 2],  "a": "x" }
`},
	{name: "pluginConfigJSON", want: "5b48cd7df7", doc: `
[ {"setWeight": 5},
  {"plugin": {"name": "example/step", "config": { "z": 1,  "a": {"nested": [true, null]} }}} ]
`},
	{name: "emptyJSON", want: "5ffbfbbd64", doc: `
[]
`},
}

var rolloutCases = []rolloutCase{
	{
		name: "canaryNoSteps",
		yaml: `
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: demo
spec:
  selector:
    matchLabels:
      app: demo
  template:
    metadata:
      labels:
        app: demo
    spec:
      containers:
      - name: app
        image: nginx:1.25
  strategy:
    canary: {}
`,
		wantPod:  "787b7d784d",
		wantStep: "5ffbfbbd64",
	},
	{
		name: "canaryEmptySteps",
		yaml: `
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: demo
spec:
  selector:
    matchLabels:
      app: demo
  template:
    metadata:
      labels:
        app: demo
    spec:
      containers:
      - name: app
        image: nginx:1.25
  strategy:
    canary:
      steps: []
status:
  collisionCount: 0
`,
		wantPod:  "644b9ccd84",
		wantStep: "5ffbfbbd64",
	},
	{
		name: "canarySteps",
		yaml: `
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: demo
spec:
  replicas: 5
  selector:
    matchLabels:
      app: demo
  template:
    metadata:
      creationTimestamp: null
      labels:
        app: demo
    spec:
      containers:
      - name: app
        image: nginx:1.25
        resources:
          requests:
            cpu: "0.5"
  strategy:
    canary:
      steps:
      - setWeight: 20
      - pause: {}
      - setWeight: 60
      - pause:
          duration: 30s
status:
  collisionCount: 7
  currentStepHash: stale
`,
		wantPod:  "698bc855cf",
		wantStep: "5fd75bcd7f",
	},
	{
		name: "blueGreen",
		yaml: `
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: demo
spec:
  selector:
    matchLabels:
      app: demo
  template:
    metadata:
      labels:
        app: demo
    spec:
      containers:
      - name: app
        image: nginx:1.25
  strategy:
    blueGreen:
      activeService: demo-active
status:
  collisionCount: 1
`,
		wantPod:  "79c76846c7",
		wantStep: "",
	},
	{
		name: "noStrategy",
		yaml: `
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: demo
spec:
  template:
    spec:
      containers:
      - name: app
        image: nginx:1.25
`,
		wantPod:  "987dd4ff5",
		wantStep: "",
	},
}

func decodeYAML(t *testing.T, doc string, into any) {
	t.Helper()
	if err := yaml.UnmarshalStrict([]byte(doc), into); err != nil {
		t.Fatalf("decoding YAML: %v", err)
	}
}

func decodeSteps(t *testing.T, c stepCase) []v1alpha1.CanaryStep {
	t.Helper()
	var steps []v1alpha1.CanaryStep
	if !strings.HasSuffix(c.name, "JSON") {
		decodeYAML(t, c.doc, &steps)
		return steps
	}
	dec := json.NewDecoder(strings.NewReader(c.doc))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&steps); err != nil {
		t.Fatalf("decoding JSON: %v", err)
	}
	return steps
}

func TestPodTemplateHashGolden(t *testing.T) {
	for _, c := range templateCases {
		t.Run(c.name, func(t *testing.T) {
			var tmpl corev1.PodTemplateSpec
			decodeYAML(t, c.yaml, &tmpl)
			for _, cc := range collisionCounts {
				if got := PodTemplateHash(&tmpl, cc.count); got != c.want[cc.key] {
					t.Errorf("collisionCount=%s: got %q, want %q", cc.key, got, c.want[cc.key])
				}
			}
		})
	}
}

func TestStepHashGolden(t *testing.T) {
	for _, c := range stepCases {
		t.Run(c.name, func(t *testing.T) {
			if got := StepHash(decodeSteps(t, c)); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

func TestRolloutGolden(t *testing.T) {
	for _, c := range rolloutCases {
		t.Run(c.name, func(t *testing.T) {
			var ro v1alpha1.Rollout
			decodeYAML(t, c.yaml, &ro)
			if got := PodTemplateHash(&ro.Spec.Template, ro.Status.CollisionCount); got != c.wantPod {
				t.Errorf("pod hash: got %q, want %q", got, c.wantPod)
			}
			if got := RolloutStepHash(&ro); got != c.wantStep {
				t.Errorf("step hash: got %q, want %q", got, c.wantStep)
			}
		})
	}
}

// TestNormalisation builds values in Go that encode differently from their
// decoded form (unparsed quantities, empty rather than nil maps and step
// lists) and checks they hash like what Argo reads back from JSON.
func TestNormalisation(t *testing.T) {
	built := corev1.PodTemplateSpec{}
	built.Labels = map[string]string{"app": "demo"}
	built.Annotations = map[string]string{}
	built.Spec.Containers = []corev1.Container{{
		Name:  "app",
		Image: "nginx:1.25",
		Env:   []corev1.EnvVar{},
		Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("0.5")},
		},
	}}
	// Same as the "canarySteps" rollout case, whose template has
	// creationTimestamp: null and cpu "0.5" (encoded by Argo as "500m").
	if got, want := PodTemplateHash(&built, new(int32(7))), "698bc855cf"; got != want {
		t.Errorf("Go-built template: got %q, want %q", got, want)
	}

	// Argo drops `steps: []` in its round trip, so empty hashes as nil.
	if got, want := StepHash([]v1alpha1.CanaryStep{}), StepHash(nil); got != want {
		t.Errorf("empty steps %q != nil steps %q", got, want)
	}

	five := intstr.FromString("5")
	steps := []v1alpha1.CanaryStep{
		{SetWeight: new(int32(5))},
		{Plugin: &v1alpha1.PluginStep{Name: "example/step", Config: json.RawMessage(`{ "z": 1,  "a": {"nested": [true, null]} }`)}},
		{Pause: &v1alpha1.RolloutPause{Duration: &five}},
	}
	// The first two steps equal "pluginConfigJSON": raw config whitespace
	// must not matter.
	if got, want := StepHash(steps[:2]), "5b48cd7df7"; got != want {
		t.Errorf("plugin steps: got %q, want %q", got, want)
	}
	if StepHash(steps) == StepHash(steps[:2]) {
		t.Error("adding a step did not change the hash")
	}
}

func TestChangesChangeHash(t *testing.T) {
	var base corev1.PodTemplateSpec
	decodeYAML(t, templateCases[1].yaml, &base)
	baseHash := PodTemplateHash(&base, nil)

	changed := base.DeepCopy()
	changed.Spec.Containers[0].Image = "nginx:1.26"
	if PodTemplateHash(changed, nil) == baseHash {
		t.Error("changing the image did not change the hash")
	}
	relabelled := base.DeepCopy()
	relabelled.Labels = map[string]string{"extra": "x"}
	if PodTemplateHash(relabelled, nil) == baseHash {
		t.Error("adding a label did not change the hash")
	}

	seen := map[string]string{}
	for _, cc := range collisionCounts {
		h := PodTemplateHash(&base, cc.count)
		if prev, dup := seen[h]; dup {
			t.Errorf("collisionCount %s and %s both hash to %q", prev, cc.key, h)
		}
		seen[h] = cc.key
	}

	before, _ := json.Marshal(&base)
	PodTemplateHash(&base, new(int32(1)))
	if after, _ := json.Marshal(&base); !bytes.Equal(before, after) {
		t.Error("PodTemplateHash modified its input")
	}

	weights := []v1alpha1.CanaryStep{{SetWeight: new(int32(20))}}
	moreWeight := []v1alpha1.CanaryStep{{SetWeight: new(int32(30))}}
	if StepHash(weights) == StepHash(moreWeight) {
		t.Error("changing setWeight did not change the step hash")
	}
}

func TestReplicaSetName(t *testing.T) {
	if got, want := ReplicaSetName("demo", "987dd4ff5"), "demo-987dd4ff5"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	// Argo does not shorten long names; neither do we.
	long := strings.Repeat("r", 250)
	if got := ReplicaSetName(long, "5c868c47bb"); got != long+"-5c868c47bb" {
		t.Errorf("long name was altered: %q", got)
	}
}

// TestRememberedHashesMatchGolden checks the golden hashes when every
// template's hash state comes from the memo, and again after the memo has
// filled and been emptied.
func TestRememberedHashesMatchGolden(t *testing.T) {
	check := func(pass string) {
		t.Helper()
		for _, c := range templateCases {
			var tmpl corev1.PodTemplateSpec
			decodeYAML(t, c.yaml, &tmpl)
			for _, cc := range collisionCounts {
				if got := PodTemplateHash(&tmpl, cc.count); got != c.want[cc.key] {
					t.Errorf("%s, %s, collisionCount=%s: got %q, want %q", pass, c.name, cc.key, got, c.want[cc.key])
				}
			}
		}
		for _, c := range stepCases {
			if got := StepHash(decodeSteps(t, c)); got != c.want {
				t.Errorf("%s, steps %s: got %q, want %q", pass, c.name, got, c.want)
			}
		}
	}
	hashes = hashMemo{}
	check("first")
	if len(hashes.m) == 0 {
		t.Fatal("nothing was remembered")
	}
	check("remembered")
	for i := range hashMemoSize + 10 {
		steps := []v1alpha1.CanaryStep{{SetWeight: ptr.To(int32(i))}}
		StepHash(steps)
	}
	if n := len(hashes.m); n >= hashMemoSize {
		t.Fatalf("the memo holds %d entries, want fewer than %d", n, hashMemoSize)
	}
	check("after the memo was emptied")
}
