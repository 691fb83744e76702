package trafficsim

import (
	"context"
	"fmt"
	"slices"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// DefaultAnnotationPrefix is the NGINX ingress annotation prefix.
const DefaultAnnotationPrefix = "nginx.ingress.kubernetes.io"

// Observer reads the split NGINX would apply for one stable Ingress.
type Observer struct {
	// Client reads Ingresses, Services and ReplicaSets.
	Client client.Reader
	// Namespace and Ingress name the stable Ingress.
	Namespace, Ingress string
	// AnnotationPrefix is the ingress controller's annotation prefix
	// (DefaultAnnotationPrefix when empty).
	AnnotationPrefix string
}

// Observe reads the stable Ingress, the canary Ingress NGINX would pair
// with it (canary: "true", same host), their Services and the ReplicaSets
// those select.
func (o *Observer) Observe(ctx context.Context) (Split, error) {
	var stable networkingv1.Ingress
	if err := o.Client.Get(ctx, types.NamespacedName{Namespace: o.Namespace, Name: o.Ingress}, &stable); err != nil {
		return Split{}, fmt.Errorf("read stable Ingress %s/%s: %w", o.Namespace, o.Ingress, err)
	}
	s := Split{Ingress: o.Ingress, Total: 100}
	svc, host := firstBackend(&stable)
	if svc == "" {
		return Split{}, fmt.Errorf("stable Ingress %s/%s routes to no Service", o.Namespace, o.Ingress)
	}
	var err error
	if s.Stable, err = o.backend(ctx, svc); err != nil {
		return Split{}, err
	}
	var list networkingv1.IngressList
	if err := o.Client.List(ctx, &list, client.InNamespace(o.Namespace)); err != nil {
		return Split{}, fmt.Errorf("list Ingresses in %s: %w", o.Namespace, err)
	}
	canary := CanaryIngress(list.Items, o.Ingress, host, o.prefix())
	if canary == nil {
		return s, nil
	}
	csvc, _ := firstBackend(canary)
	if s.Canary, err = o.backend(ctx, csvc); err != nil {
		return Split{}, err
	}
	s.Weight = annotationInt(canary.Annotations, o.prefix()+"/canary-weight", 0)
	s.Total = annotationInt(canary.Annotations, o.prefix()+"/canary-weight-total", 100)
	return s, nil
}

func (o *Observer) prefix() string {
	if o.AnnotationPrefix == "" {
		return DefaultAnnotationPrefix
	}
	return o.AnnotationPrefix
}

// CanaryIngress picks the canary Ingress NGINX merges into the stable one:
// marked canary, serving the same host, first by name when several are.
func CanaryIngress(items []networkingv1.Ingress, stable, host, prefix string) *networkingv1.Ingress {
	var found []*networkingv1.Ingress
	for i := range items {
		in := &items[i]
		if in.Name == stable || in.Annotations[prefix+"/canary"] != "true" {
			continue
		}
		if svc, h := firstBackend(in); svc != "" && h == host {
			found = append(found, in)
		}
	}
	if len(found) == 0 {
		return nil
	}
	return slices.MinFunc(found, func(a, b *networkingv1.Ingress) int {
		if a.Name < b.Name {
			return -1
		}
		return 1
	})
}

// firstBackend is the Service and host of an Ingress's first path.
func firstBackend(in *networkingv1.Ingress) (service, host string) {
	for _, r := range in.Spec.Rules {
		if r.HTTP == nil {
			continue
		}
		for _, p := range r.HTTP.Paths {
			if p.Backend.Service != nil {
				return p.Backend.Service.Name, r.Host
			}
		}
	}
	if d := in.Spec.DefaultBackend; d != nil && d.Service != nil {
		return d.Service.Name, ""
	}
	return "", ""
}

// backend finds what a Service's selector reaches: the ReplicaSet with
// the most available pods among those its selector matches.
func (o *Observer) backend(ctx context.Context, name string) (Backend, error) {
	b := Backend{Service: name}
	var svc corev1.Service
	if err := o.Client.Get(ctx, types.NamespacedName{Namespace: o.Namespace, Name: name}, &svc); err != nil {
		if apierrors.IsNotFound(err) {
			return b, nil // NGINX answers 503 for a missing Service too
		}
		return b, fmt.Errorf("read Service %s/%s: %w", o.Namespace, name, err)
	}
	if len(svc.Spec.Selector) == 0 {
		return b, nil
	}
	var sets appsv1.ReplicaSetList
	if err := o.Client.List(ctx, &sets, client.InNamespace(o.Namespace), client.MatchingLabelsSelector{Selector: labels.SelectorFromSet(svc.Spec.Selector)}); err != nil {
		return b, fmt.Errorf("list ReplicaSets behind Service %s/%s: %w", o.Namespace, name, err)
	}
	var best *appsv1.ReplicaSet
	for i := range sets.Items {
		rs := &sets.Items[i]
		if rs.Status.AvailableReplicas > 0 && (best == nil || rs.Status.AvailableReplicas > best.Status.AvailableReplicas) {
			best = rs
		}
	}
	if best == nil {
		return b, nil
	}
	rate, err := ErrorRateOf(&best.Spec.Template)
	if err != nil {
		return b, fmt.Errorf("ReplicaSet %s/%s: %w", o.Namespace, best.Name, err)
	}
	b.Ready, b.ErrorRate = true, rate
	return b, nil
}

func annotationInt(a map[string]string, key string, def int32) int32 {
	v, err := strconv.ParseInt(a[key], 10, 32)
	if err != nil {
		return def
	}
	return int32(v)
}
