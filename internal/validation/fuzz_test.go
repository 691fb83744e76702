package validation

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/yaml"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// exampleDocs returns the YAML documents of kind in the repository's
// examples, the seed corpus the fuzz targets start from.
func exampleDocs(tb testing.TB, kind string) [][]byte {
	tb.Helper()
	files, err := filepath.Glob("../../examples/*.yaml")
	if err != nil || len(files) == 0 {
		tb.Fatalf("examples: %v (found %d)", err, len(files))
	}
	var docs [][]byte
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			tb.Fatal(err)
		}
		for _, doc := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(data), -1) {
			if regexp.MustCompile(`(?m)^kind: ` + kind + `\s*$`).MatchString(doc) {
				docs = append(docs, []byte(doc))
			}
		}
	}
	return docs
}

// checkRollout runs the validator on ro and checks what must hold for any
// input: no panic, the object is left as it was (the controller validates
// the informer's cached copy), the same input gives the same answer, and
// every problem names a field and renders as a message.
func checkRollout(t *testing.T, ro *v1alpha1.Rollout) field.ErrorList {
	t.Helper()
	before := ro.DeepCopy()
	errs := Rollout(ro)
	if !equality.Semantic.DeepEqual(before, ro) {
		t.Fatalf("validation modified the Rollout")
	}
	again := Rollout(ro)
	if len(again) != len(errs) || (len(errs) > 0 && again.ToAggregate().Error() != errs.ToAggregate().Error()) {
		t.Fatalf("two validations disagree:\n%v\n%v", errs.ToAggregate(), again.ToAggregate())
	}
	for _, e := range errs {
		if e == nil || e.Field == "" {
			t.Fatalf("an error without a field: %#v", e)
		}
		_ = e.Error()
	}
	return errs
}

// FuzzRolloutYAML validates whatever decodes as a Rollout: a manifest as
// kubectl apply would send it, checked by the same code as the
// InvalidSpec condition.
func FuzzRolloutYAML(f *testing.F) {
	for _, doc := range exampleDocs(f, "Rollout") {
		f.Add(doc)
	}
	for _, doc := range []string{
		`{"spec":{"selector":{"matchLabels":{"app":"web"}},"template":{"metadata":{"labels":{"app":"web"}}},"strategy":{"canary":{"maxSurge":"150%","maxUnavailable":"-1","steps":[{"setWeight":120},{"pause":{"duration":"1h2x"}}]}}}}`,
		`{"spec":{"selector":{"matchExpressions":[{"key":"app","operator":"In","values":["web"]}]},"template":{"metadata":{"labels":{"app":"web"}}},"strategy":{"canary":{"maxSurge":0,"maxUnavailable":"0%","steps":[{"pause":{"duration":-5}},{"analysis":{}},{"setCanaryScale":{"weight":-1}},{"experiment":{}}]}}}}`,
		`{"spec":{"selector":{"matchLabels":{"app":"web"}},"template":{"metadata":{"labels":{"app":"web"}}},"strategy":{"canary":{"canaryService":"c","stableService":"s","trafficRouting":{"maxTrafficWeight":1000,"managedRoutes":[{"name":"hdr"}],"plugins":{"argoproj-labs/gatewayAPI":{"httpRoute":"web"}},"istio":{"virtualServices":[{"name":"a"},{}],"destinationRule":{"name":"d","canarySubsetName":"v","stableSubsetName":"v"}}},"steps":[{"setHeaderRoute":{"name":"hdr","match":[{"headerName":"X-Canary","headerValue":{"regex":"(a"}}]}},{"setMirrorRoute":{"name":"m"}}]}}}}`,
		`{"spec":{"workloadRef":{"apiVersion":"apps/v1","kind":"Deployment","name":"web"},"strategy":{"blueGreen":{"activeService":"web","previewService":"web","previewReplicaCount":0,"autoPromotionSeconds":-1,"scaleDownDelaySeconds":-30,"prePromotionAnalysis":{}}}}}`,
		`{"spec":{"selector":{"matchExpressions":[{"key":"app","operator":"Bogus"}]},"strategy":{"canary":{},"blueGreen":{}}}}`,
		`{"spec":{"strategy":{}}}`,
	} {
		f.Add([]byte(doc))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var ro v1alpha1.Rollout
		if err := yaml.Unmarshal(data, &ro); err != nil {
			return
		}
		checkRollout(t, &ro)
	})
}

// intOrString is s as an IntOrString: an integer when asInt and s reads as
// one (truncated to 32 bits), nil when s is empty, else the string.
func intOrString(s string, asInt bool) *intstr.IntOrString {
	if n, err := strconv.ParseInt(s, 10, 64); asInt && err == nil {
		v := intstr.FromInt32(int32(n))
		return &v
	}
	if s == "" {
		return nil
	}
	v := intstr.FromString(s)
	return &v
}

// FuzzRolloutFields mutates the fields of a valid canary (or blue-green)
// Rollout one by one: a step list shaped by steps (one byte a step), the
// weight and pause duration those steps use, maxSurge and maxUnavailable
// as IntOrString, the routers, the selector and the services.
func FuzzRolloutFields(f *testing.F) {
	type seed struct {
		steps                    string
		weight                   int32
		pause                    string
		pauseAsInt               bool
		surge, unavailable       string
		surgeInt, unavailableInt bool
		replicas                 int32
		routers                  uint8
		maxWeight                int32
		route                    string
		plugin                   string
		selKey, selOp, selValue  string
		stable, canary           string
		blueGreen                bool
	}
	for _, s := range []seed{
		// The validator's own valid Rollout and the examples' shapes.
		{steps: "\x00\x02", weight: 20, surge: "25%", unavailable: "0", unavailableInt: true, replicas: 5, selKey: "app", selOp: "In", selValue: "web"},
		{steps: "\x00\x01\x00\x01", weight: 50, pause: "30s", routers: 1, route: "hdr", stable: "web", canary: "web-canary", selKey: "app", selOp: "In", selValue: "web"},
		{steps: "\x05\x00\x06\x01", weight: 10, pause: "10", pauseAsInt: true, routers: 2, route: "mirror", stable: "web", canary: "web-canary", replicas: 3, selKey: "app", selOp: "Exists"},
		{steps: "\x00\x03\x01", weight: 200, pause: "1h", routers: 4, stable: "web", canary: "web-canary", maxWeight: 1000, plugin: `{"httpRoute":"web"}`, selKey: "app", selOp: "In", selValue: "web"},
		// Values users get wrong.
		{steps: "\x00\x01", weight: 120, pause: "1h2x", surge: "150%", unavailable: "-1", replicas: -1, selKey: "app", selOp: "In", selValue: "web"},
		{steps: "\x01\x01", weight: -1, pause: "-5", pauseAsInt: true, surge: "0", surgeInt: true, unavailable: "0%", selKey: "app", selOp: "NotIn", selValue: "web"},
		{steps: "\x04\x05\x06\x07\x0f", surge: "abc", unavailable: "1.5", routers: 0x80, route: "hdr", stable: "web", canary: "web", selKey: "a b", selOp: "Bogus"},
		{steps: "\x01", pause: "ten minutes", routers: 0x7f, maxWeight: -1, plugin: `{"httpRoutes":"web"}`, stable: "web", selKey: "", selOp: "DoesNotExist"},
		{steps: "\x01", pause: "2562048h", routers: 0x40, plugin: `not json`, selKey: "app", selOp: "In", selValue: "web"},
		{blueGreen: true, stable: "active", canary: "preview", replicas: 1, selKey: "app", selOp: "In", selValue: "web"},
		{blueGreen: true, stable: "web", canary: "web", weight: -3, selKey: "app", selOp: "In"},
	} {
		f.Add([]byte(s.steps), s.weight, s.pause, s.pauseAsInt, s.surge, s.unavailable, s.surgeInt, s.unavailableInt,
			s.replicas, s.routers, s.maxWeight, s.route, s.plugin, s.selKey, s.selOp, s.selValue, s.stable, s.canary, s.blueGreen)
	}
	f.Fuzz(func(t *testing.T, steps []byte, weight int32, pause string, pauseAsInt bool, surge, unavailable string, surgeInt, unavailableInt bool,
		replicas int32, routers uint8, maxWeight int32, route, plugin, selKey, selOp, selValue, stable, canary string, blueGreen bool) {
		ro := valid()
		ro.Spec.Replicas = &replicas
		ro.Spec.Selector.MatchExpressions = []metav1.LabelSelectorRequirement{{Key: selKey, Operator: metav1.LabelSelectorOperator(selOp)}}
		if selValue != "" {
			ro.Spec.Selector.MatchExpressions[0].Values = []string{selValue}
		}
		if blueGreen {
			ro.Spec.Strategy.Canary = nil
			ro.Spec.Strategy.BlueGreen = &v1alpha1.BlueGreenStrategy{
				ActiveService: stable, PreviewService: canary, PreviewReplicaCount: &weight, AutoPromotionSeconds: replicas,
				ScaleDownDelaySeconds: &maxWeight, AutoPromotionEnabled: new(len(steps)%2 == 0),
			}
			if len(steps) > 0 {
				ro.Spec.Strategy.BlueGreen.PrePromotionAnalysis = &v1alpha1.RolloutAnalysis{}
			}
			checkRollout(t, ro)
			return
		}
		c := ro.Spec.Strategy.Canary
		c.MaxSurge, c.MaxUnavailable = intOrString(surge, surgeInt), intOrString(unavailable, unavailableInt)
		c.StableService, c.CanaryService = stable, canary
		if routers != 0 {
			tr := &v1alpha1.RolloutTrafficRouting{ManagedRoutes: []v1alpha1.MangedRoutes{{Name: route}}}
			if routers&1 != 0 {
				tr.Nginx = &v1alpha1.NginxTrafficRouting{StableIngress: stable}
			}
			if routers&2 != 0 {
				tr.Istio = &v1alpha1.IstioTrafficRouting{VirtualService: &v1alpha1.IstioVirtualService{Name: route}}
				if routers&0x20 != 0 {
					tr.Istio.DestinationRule = &v1alpha1.IstioDestinationRule{Name: route, CanarySubsetName: canary, StableSubsetName: stable}
				}
			}
			if routers&4 != 0 {
				tr.Plugins = map[string]json.RawMessage{"argoproj-labs/gatewayAPI": json.RawMessage(plugin)}
			}
			if routers&8 != 0 {
				tr.Traefik = &v1alpha1.TraefikTrafficRouting{WeightedTraefikServiceName: route}
			}
			if routers&0x10 != 0 {
				tr.SMI = &v1alpha1.SMITrafficRouting{}
			}
			if routers&0x40 != 0 {
				if tr.Plugins == nil {
					tr.Plugins = map[string]json.RawMessage{}
				}
				tr.Plugins[route] = json.RawMessage(plugin)
			}
			if routers&0x80 != 0 {
				tr.ALB = &v1alpha1.ALBTrafficRouting{}
			}
			if maxWeight != 0 {
				tr.MaxTrafficWeight = &maxWeight
			}
			c.TrafficRouting = tr
		}
		c.Steps = nil
		for i, b := range steps {
			w := weight + int32(i)
			var step v1alpha1.CanaryStep
			switch b % 8 {
			case 0:
				step.SetWeight = &w
			case 1:
				step.Pause = &v1alpha1.RolloutPause{Duration: intOrString(pause, pauseAsInt)}
			case 2:
				step.Pause = &v1alpha1.RolloutPause{}
			case 3:
				step.Analysis = &v1alpha1.RolloutAnalysis{}
				if b&8 == 0 {
					step.Analysis.Templates = []v1alpha1.AnalysisTemplateRef{{TemplateName: route}}
				}
			case 4:
				step.SetCanaryScale = &v1alpha1.SetCanaryScale{Weight: &w, MatchTrafficWeight: b&8 != 0}
			case 5:
				step.SetHeaderRoute = &v1alpha1.SetHeaderRoute{Name: route}
				if b&8 != 0 {
					step.SetHeaderRoute.Match = []v1alpha1.HeaderRoutingMatch{{HeaderName: selKey, HeaderValue: &v1alpha1.StringMatch{Regex: selValue}}}
				}
			case 6:
				step.SetMirrorRoute = &v1alpha1.SetMirrorRoute{Name: route, Percentage: &w}
			case 7:
				if b&8 != 0 {
					step.Plugin = &v1alpha1.PluginStep{Name: route, Config: json.RawMessage(plugin)}
				} else {
					step.Experiment = &v1alpha1.RolloutExperimentStep{}
				}
			}
			c.Steps = append(c.Steps, step)
		}
		errs := checkRollout(t, ro)

		// A weight outside what the router takes, or a pause that is
		// neither seconds nor a duration, is always reported.
		maxW := ro.MaxTrafficWeight()
		for i, step := range c.Steps {
			sp := field.NewPath("spec", "strategy", "canary", "steps").Index(i)
			if w := step.SetWeight; w != nil && (*w < 0 || *w > maxW) && !hasError(errs, sp.Child("setWeight")) {
				t.Errorf("setWeight %d of %d not reported: %v", *w, maxW, errs.ToAggregate())
			}
			if p := step.Pause; p != nil && p.Duration != nil && p.Duration.Type == intstr.String && !isDuration(p.Duration.StrVal) && !hasError(errs, sp.Child("pause", "duration")) {
				t.Errorf("pause duration %q not reported: %v", p.Duration.StrVal, errs.ToAggregate())
			}
		}
	})
}

// isDuration reports whether s is seconds or a Go duration.
func isDuration(s string) bool {
	if _, err := strconv.ParseInt(s, 10, 32); err == nil {
		return true
	}
	_, err := time.ParseDuration(s)
	return err == nil
}

func hasError(errs field.ErrorList, p *field.Path) bool {
	for _, e := range errs {
		if e.Field == p.String() || strings.HasPrefix(e.Field, p.String()+".") {
			return true
		}
	}
	return false
}
