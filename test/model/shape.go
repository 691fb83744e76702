package model

import (
	"fmt"
	"math/rand/v2"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// Strategies of a Shape.
const (
	Canary    = "canary"
	BlueGreen = "blueGreen"
)

// templateName is the AnalysisTemplate every analysis of the model uses;
// it always exists (the AnalysisRun controller is simulated, so its metric
// is never measured).
const templateName = "check"

// Shape is the Rollout a case starts from, as plain values (saved in
// regression files).
type Shape struct {
	Strategy        string              `json:"strategy"`
	Replicas        int32               `json:"replicas"`
	MinReadySeconds int32               `json:"minReadySeconds,omitempty"`
	MaxSurge        *intstr.IntOrString `json:"maxSurge,omitempty"`
	MaxUnavailable  *intstr.IntOrString `json:"maxUnavailable,omitempty"`
	// Steps are the canary steps (analysis steps name templateName).
	Steps []v1alpha1.CanaryStep `json:"steps,omitempty"`
	// Background adds a background analysis starting at StartingStep.
	Background   bool   `json:"background,omitempty"`
	StartingStep *int32 `json:"startingStep,omitempty"`
	// Services gives a basic canary a canary and a stable Service.
	Services bool `json:"services,omitempty"`
	// Routed routes the canary through NGINX (Services implied).
	Routed                     bool   `json:"routed,omitempty"`
	AbortScaleDownDelaySeconds *int32 `json:"abortScaleDownDelaySeconds,omitempty"`
	ScaleDownDelaySeconds      *int32 `json:"scaleDownDelaySeconds,omitempty"`
	// Blue-green.
	AutoPromotionEnabled *bool  `json:"autoPromotionEnabled,omitempty"`
	AutoPromotionSeconds int32  `json:"autoPromotionSeconds,omitempty"`
	PreviewReplicaCount  *int32 `json:"previewReplicaCount,omitempty"`
	PreviewService       bool   `json:"previewService,omitempty"`
	PrePromotion         bool   `json:"prePromotion,omitempty"`
	PostPromotion        bool   `json:"postPromotion,omitempty"`
	// Common.
	ProgressDeadlineSeconds *int32 `json:"progressDeadlineSeconds,omitempty"`
	ProgressDeadlineAbort   bool   `json:"progressDeadlineAbort,omitempty"`
	RevisionHistoryLimit    *int32 `json:"revisionHistoryLimit,omitempty"`
}

func ptr[T any](v T) *T { return &v }

// Image is the container image of revision n of the model's template.
func Image(n int) string { return fmt.Sprintf("registry.example/web:v%d", n) }

// objects are the Rollout and what it references, ready to create.
func (s Shape) objects() []client.Object {
	labels := map[string]string{"app": Name}
	ro := &v1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Name: Name, Namespace: Namespace}}
	ro.Spec.Replicas = ptr(s.Replicas)
	ro.Spec.Selector = &metav1.LabelSelector{MatchLabels: labels}
	ro.Spec.MinReadySeconds = s.MinReadySeconds
	ro.Spec.Template = corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: labels},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: Image(1)}}},
	}
	ro.Spec.ProgressDeadlineSeconds = s.ProgressDeadlineSeconds
	ro.Spec.ProgressDeadlineAbort = s.ProgressDeadlineAbort
	ro.Spec.RevisionHistoryLimit = s.RevisionHistoryLimit
	objs := []client.Object{ro, analysisTemplate()}
	service := func(name string) *corev1.Service {
		return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: Namespace},
			Spec: corev1.ServiceSpec{Selector: map[string]string{"app": Name}, Ports: []corev1.ServicePort{{Port: 80}}}}
	}
	analysis := func() *v1alpha1.RolloutAnalysis {
		return &v1alpha1.RolloutAnalysis{Templates: []v1alpha1.AnalysisTemplateRef{{TemplateName: templateName}}}
	}
	switch s.Strategy {
	case BlueGreen:
		bg := &v1alpha1.BlueGreenStrategy{ActiveService: "web-active", AutoPromotionEnabled: s.AutoPromotionEnabled,
			AutoPromotionSeconds: s.AutoPromotionSeconds, PreviewReplicaCount: s.PreviewReplicaCount,
			ScaleDownDelaySeconds: s.ScaleDownDelaySeconds, AbortScaleDownDelaySeconds: s.AbortScaleDownDelaySeconds}
		objs = append(objs, service("web-active"))
		if s.PreviewService {
			bg.PreviewService = "web-preview"
			objs = append(objs, service("web-preview"))
		}
		if s.PrePromotion {
			bg.PrePromotionAnalysis = analysis()
		}
		if s.PostPromotion {
			bg.PostPromotionAnalysis = analysis()
		}
		ro.Spec.Strategy.BlueGreen = bg
	default:
		c := &v1alpha1.CanaryStrategy{Steps: s.Steps, MaxSurge: s.MaxSurge, MaxUnavailable: s.MaxUnavailable}
		if s.Services || s.Routed {
			c.CanaryService, c.StableService = "web-canary", "web-stable"
			objs = append(objs, service("web-canary"), service("web-stable"))
		}
		if s.Background {
			c.Analysis = &v1alpha1.RolloutAnalysisBackground{RolloutAnalysis: *analysis(), StartingStep: s.StartingStep}
		}
		if s.Routed {
			c.TrafficRouting = &v1alpha1.RolloutTrafficRouting{Nginx: &v1alpha1.NginxTrafficRouting{StableIngress: "web"}}
			c.AbortScaleDownDelaySeconds = s.AbortScaleDownDelaySeconds
			c.ScaleDownDelaySeconds = s.ScaleDownDelaySeconds
			objs = append(objs, stableIngress())
		}
		ro.Spec.Strategy.Canary = c
	}
	return objs
}

// analysisTemplate is templateName: one web metric (never measured here).
func analysisTemplate() *v1alpha1.AnalysisTemplate {
	return &v1alpha1.AnalysisTemplate{
		ObjectMeta: metav1.ObjectMeta{Name: templateName, Namespace: Namespace},
		Spec: v1alpha1.AnalysisTemplateSpec{Metrics: []v1alpha1.Metric{{
			Name:             "success-rate",
			SuccessCondition: "result >= 0.95",
			Provider:         v1alpha1.MetricProvider{Web: &v1alpha1.WebMetric{URL: "http://metrics.example/success-rate", JSONPath: "{$.rate}"}},
		}}},
	}
}

// stableIngress is the Ingress the NGINX router copies into the canary
// Ingress: one rule to the stable Service.
func stableIngress() *networkingv1.Ingress {
	pathType := networkingv1.PathTypePrefix
	return &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: Namespace, Annotations: map[string]string{"kubernetes.io/ingress.class": "nginx"}},
		Spec: networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{{
			Host: "web.example",
			IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{{
				Path: "/", PathType: &pathType,
				Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "web-stable", Port: networkingv1.ServiceBackendPort{Number: 80}}},
			}}}},
		}}},
	}
}

// randomShape draws a Rollout: mostly basic canaries (the main target),
// some with a background analysis or Services, some NGINX-routed, and some
// blue-green.
func randomShape(r *rand.Rand) Shape {
	s := Shape{Replicas: int32(1 + r.IntN(6))}
	if r.IntN(4) == 0 {
		s.MinReadySeconds = int32(1 + r.IntN(3))
	}
	if r.IntN(5) == 0 {
		s.ProgressDeadlineSeconds = ptr(int32(20 + 10*r.IntN(10)))
		s.ProgressDeadlineAbort = r.IntN(2) == 0
	}
	if r.IntN(5) == 0 {
		s.RevisionHistoryLimit = ptr(int32(r.IntN(3)))
	}
	switch n := r.IntN(10); {
	case n < 2:
		s.Strategy = BlueGreen
		switch r.IntN(3) {
		case 0:
			s.AutoPromotionEnabled = ptr(false)
		case 1:
			s.AutoPromotionSeconds = int32(5 + 5*r.IntN(6))
		}
		if r.IntN(3) == 0 {
			s.PreviewReplicaCount = ptr(int32(1 + r.IntN(int(s.Replicas))))
		}
		s.PreviewService = r.IntN(2) == 0
		s.PrePromotion = r.IntN(3) == 0
		s.PostPromotion = r.IntN(3) == 0
		if r.IntN(2) == 0 {
			s.ScaleDownDelaySeconds = ptr(int32(r.IntN(4) * 10))
		}
		if r.IntN(3) == 0 {
			s.AbortScaleDownDelaySeconds = ptr(int32(r.IntN(3) * 15))
		}
	default:
		s.Strategy = Canary
		s.Steps = randomSteps(r)
		s.MaxSurge, s.MaxUnavailable = randomFenceposts(r)
		s.Background = n == 2 || n == 3
		if s.Background && r.IntN(2) == 0 {
			s.StartingStep = ptr(int32(r.IntN(len(s.Steps) + 1)))
		}
		switch {
		case n == 4:
			s.Routed = true
			if r.IntN(2) == 0 {
				s.AbortScaleDownDelaySeconds = ptr(int32(r.IntN(3) * 15))
			}
			if r.IntN(2) == 0 {
				s.ScaleDownDelaySeconds = ptr(int32(r.IntN(3) * 10))
			}
		case r.IntN(4) == 0:
			s.Services = true
		}
	}
	return s
}

// randomSteps draws 1–6 canary steps from setWeight, pause {}, pause
// {duration} and analysis.
func randomSteps(r *rand.Rand) []v1alpha1.CanaryStep {
	n := 1 + r.IntN(6)
	steps := make([]v1alpha1.CanaryStep, 0, n)
	for range n {
		switch r.IntN(8) {
		case 0, 1, 2:
			steps = append(steps, v1alpha1.CanaryStep{SetWeight: ptr(int32([]int{10, 20, 25, 33, 40, 50, 60, 75, 80, 90, 100}[r.IntN(11)]))})
		case 3, 4:
			steps = append(steps, v1alpha1.CanaryStep{Pause: &v1alpha1.RolloutPause{}})
		case 5, 6:
			d := intstr.FromInt32(int32(5 + 5*r.IntN(12)))
			if r.IntN(3) == 0 {
				d = intstr.FromString(fmt.Sprintf("%ds", 5+5*r.IntN(12)))
			}
			steps = append(steps, v1alpha1.CanaryStep{Pause: &v1alpha1.RolloutPause{Duration: &d}})
		default:
			steps = append(steps, v1alpha1.CanaryStep{Analysis: &v1alpha1.RolloutAnalysis{Templates: []v1alpha1.AnalysisTemplateRef{{TemplateName: templateName}}}})
		}
	}
	return steps
}

// randomFenceposts draws maxSurge and maxUnavailable: defaults, counts and
// percentages, never both zero (validation refuses it).
func randomFenceposts(r *rand.Rand) (*intstr.IntOrString, *intstr.IntOrString) {
	pick := func() *intstr.IntOrString {
		switch r.IntN(5) {
		case 0:
			return nil
		case 1, 2:
			return ptr(intstr.FromInt32(int32(r.IntN(3))))
		default:
			return ptr(intstr.FromString(fmt.Sprintf("%d%%", []int{0, 10, 25, 34, 50, 100}[r.IntN(6)])))
		}
	}
	surge, unavailable := pick(), pick()
	if isZero(surge) && isZero(unavailable) {
		unavailable = ptr(intstr.FromInt32(1))
	}
	return surge, unavailable
}

func isZero(v *intstr.IntOrString) bool {
	return v != nil && (v.Type == intstr.Int && v.IntVal == 0 || v.Type == intstr.String && v.StrVal == "0%")
}
