package trafficsim

import (
	"context"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
)

func ingress(name, host, svc string, annotations map[string]string) *networkingv1.Ingress {
	return &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, Annotations: annotations},
		Spec: networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{{Host: host, IngressRuleValue: networkingv1.IngressRuleValue{
			HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{{Path: "/",
				Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: svc}}}}}}}}},
	}
}

func service(name, hash string) *corev1.Service {
	return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "demo", "rollouts-pod-template-hash": hash}}}
}

func replicaSet(hash string, available int32, errorRate string) *appsv1.ReplicaSet {
	rs := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "demo-" + hash,
		Labels: map[string]string{"app": "demo", "rollouts-pod-template-hash": hash}}}
	rs.Spec.Template.Spec.Containers = []corev1.Container{{Name: "demo"}}
	if errorRate != "" {
		rs.Spec.Template.Spec.Containers[0].Env = []corev1.EnvVar{{Name: ErrorRateEnv, Value: errorRate}}
	}
	rs.Status.AvailableReplicas = available
	return rs
}

func TestObserve(t *testing.T) {
	objs := []client.Object{
		ingress("demo", "demo.local", "demo", nil),
		ingress("demo-demo-canary", "demo.local", "demo-canary", map[string]string{
			"nginx.ingress.kubernetes.io/canary": "true", "nginx.ingress.kubernetes.io/canary-weight": "40"}),
		// A canary for another host is not merged into this Ingress.
		ingress("other-canary", "other.local", "other", map[string]string{
			"nginx.ingress.kubernetes.io/canary": "true", "nginx.ingress.kubernetes.io/canary-weight": "90"}),
		service("demo", "blue"), service("demo-canary", "yellow"),
		replicaSet("blue", 3, ""), replicaSet("yellow", 1, "50"),
	}
	c := fake.NewClientBuilder().WithScheme(scheme.Scheme).WithObjects(objs...).Build()
	o := Observer{Client: c, Namespace: "ns", Ingress: "demo"}
	got, err := o.Observe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := Split{Ingress: "demo", Stable: Backend{Service: "demo", Ready: true}, Canary: Backend{Service: "demo-canary", Ready: true, ErrorRate: 0.5},
		Weight: 40, Total: 100}
	if got != want {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}

	// Canary pods gone: the canary backend is not ready (NGINX answers 503).
	var rs appsv1.ReplicaSet
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: "ns", Name: "demo-yellow"}, &rs); err != nil {
		t.Fatal(err)
	}
	rs.Status.AvailableReplicas = 0
	if err := c.Status().Update(context.Background(), &rs); err != nil {
		t.Fatal(err)
	}
	got, err = o.Observe(context.Background())
	if err != nil || got.Canary.Ready {
		t.Fatalf("got %+v, %v; want the canary not ready", got, err)
	}
}

func TestObserveWithoutCanary(t *testing.T) {
	c := fake.NewClientBuilder().WithScheme(scheme.Scheme).WithObjects(
		ingress("demo", "demo.local", "demo", nil), service("demo", "blue"), replicaSet("blue", 1, "5")).Build()
	got, err := (&Observer{Client: c, Namespace: "ns", Ingress: "demo"}).Observe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got.Canary.Service != "" || got.CanaryShare() != 0 || got.Stable.ErrorRate != 0.05 {
		t.Fatalf("got %+v", got)
	}
	if _, err := (&Observer{Client: c, Namespace: "ns", Ingress: "missing"}).Observe(context.Background()); err == nil {
		t.Fatal("a missing stable Ingress must be an error")
	}
}
