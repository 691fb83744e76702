// Package nginx routes a canary Rollout's traffic through the NGINX ingress
// controller. For every stable Ingress it keeps a canary copy whose paths
// lead to the canary Service and whose annotations (canary, canary-weight)
// tell NGINX what share of requests to send there, as Argo Rollouts does.
//
// The pure part (names, the desired canary Ingress, annotation merging)
// lives in this file; router.go reads and writes the Ingresses.
package nginx

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/traffic"
)

// canarySuffix ends every canary Ingress name.
const canarySuffix = "-canary"

// maxNameLength is the longest object name the API server accepts.
const maxNameLength = 253

// ingressClassAnnotation is the legacy way to pick an ingress controller;
// NGINX ignores a canary Ingress of another class, so it is the one stable
// annotation the canary must share.
const ingressClassAnnotation = "kubernetes.io/ingress.class"

// Annotation names, without the prefix, that this package writes.
const (
	annoCanary                = "canary"
	annoCanaryWeight          = "canary-weight"
	annoCanaryWeightTotal     = "canary-weight-total"
	annoCanaryByHeader        = "canary-by-header"
	annoCanaryByHeaderValue   = "canary-by-header-value"
	annoCanaryByHeaderPattern = "canary-by-header-pattern"
)

// rolloutKind is the owner reference kind of canary Ingresses.
var rolloutKind = v1alpha1.GroupVersion.WithKind("Rollout")

// CanaryIngressName is the name of the canary Ingress for stableIngress:
// "<rollout>-<stableIngress>", cut so that the "-canary" suffix still fits
// in an object name, then the suffix.
func CanaryIngressName(rollout, stableIngress string) string {
	name := rollout + "-" + stableIngress
	if limit := maxNameLength - len(canarySuffix); len(name) > limit {
		name = name[:limit]
	}
	return name + canarySuffix
}

// StableIngresses lists the stable Ingresses of ro's NGINX routing:
// stableIngresses when given, otherwise stableIngress.
func StableIngresses(ro *v1alpha1.Rollout) []string {
	cfg := nginxConfig(ro)
	if len(cfg.StableIngresses) > 0 {
		return cfg.StableIngresses
	}
	if cfg.StableIngress == "" {
		return nil
	}
	return []string{cfg.StableIngress}
}

// nginxConfig is ro's NGINX routing, or an empty one so callers need not
// check each level for nil.
func nginxConfig(ro *v1alpha1.Rollout) *v1alpha1.NginxTrafficRouting {
	if c := ro.Spec.Strategy.Canary; c != nil && c.TrafficRouting != nil && c.TrafficRouting.Nginx != nil {
		return c.TrafficRouting.Nginx
	}
	return &v1alpha1.NginxTrafficRouting{}
}

// canaryStrategy is ro's canary strategy, or an empty one.
func canaryStrategy(ro *v1alpha1.Rollout) *v1alpha1.CanaryStrategy {
	if c := ro.Spec.Strategy.Canary; c != nil {
		return c
	}
	return &v1alpha1.CanaryStrategy{}
}

// key is an annotation name under prefix.
func key(prefix, name string) string { return prefix + "/" + name }

// DesiredCanaryIngress is the canary Ingress ro wants for stable at weight:
// owned by ro, with stable's TLS and class, only the rules with a path to
// the stable Service (those paths sent to the canary Service instead), and
// the canary annotations. Annotations are applied lowest precedence first:
// the stable's kubernetes.io/ingress.class, additionalIngressAnnotations
// (prefixed), canaryIngressAnnotations (verbatim), then canary,
// canary-weight and, with maxTrafficWeight, canary-weight-total.
func DesiredCanaryIngress(ro *v1alpha1.Rollout, stable *networkingv1.Ingress, weight int32) (*networkingv1.Ingress, error) {
	c := canaryStrategy(ro)
	rules := canaryRules(stable.Spec.Rules, c.StableService, c.CanaryService)
	if len(rules) == 0 {
		return nil, &traffic.SpecError{Field: stableIngressField(ro, stable.Name),
			Msg: fmt.Sprintf("ingress %q has no rules using service %q backend: add a path whose backend is the stable Service", stable.Name, c.StableService)}
	}
	canary := &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{
			Name:            CanaryIngressName(ro.Name, stable.Name),
			Namespace:       ro.Namespace,
			Annotations:     desiredAnnotations(ro, stable, weight),
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(ro, rolloutKind)},
		},
		Spec: networkingv1.IngressSpec{
			IngressClassName: stable.Spec.IngressClassName,
			Rules:            rules,
		},
	}
	for _, tls := range stable.Spec.TLS {
		canary.Spec.TLS = append(canary.Spec.TLS, *tls.DeepCopy())
	}
	return canary, nil
}

// canaryRules copies the rules with at least one path to stableService,
// pointing those paths at canaryService. Paths to other Services stay as
// they are within a kept rule; rules without such a path are dropped, so
// the canary never takes over traffic meant for another Service.
func canaryRules(rules []networkingv1.IngressRule, stableService, canaryService string) []networkingv1.IngressRule {
	var out []networkingv1.IngressRule
	for _, r := range rules {
		rule := r.DeepCopy()
		if rule.HTTP == nil {
			continue
		}
		uses := false
		for i := range rule.HTTP.Paths {
			svc := rule.HTTP.Paths[i].Backend.Service
			if svc != nil && svc.Name == stableService {
				svc.Name = canaryService
				uses = true
			}
		}
		if uses {
			out = append(out, *rule)
		}
	}
	return out
}

// desiredAnnotations are the canary Ingress annotations, in precedence order.
func desiredAnnotations(ro *v1alpha1.Rollout, stable *networkingv1.Ingress, weight int32) map[string]string {
	prefix := ro.NginxAnnotationPrefixOrDefault()
	out := map[string]string{}
	if class, ok := stable.Annotations[ingressClassAnnotation]; ok {
		out[ingressClassAnnotation] = class
	}
	maps.Copy(out, specAnnotations(ro))
	out[key(prefix, annoCanary)] = "true"
	out[key(prefix, annoCanaryWeight)] = strconv.Itoa(int(weight))
	if tr := canaryStrategy(ro).TrafficRouting; tr != nil && tr.MaxTrafficWeight != nil {
		out[key(prefix, annoCanaryWeightTotal)] = strconv.Itoa(int(*tr.MaxTrafficWeight))
	}
	return out
}

// specAnnotations are the annotations the user configures:
// additionalIngressAnnotations with the prefix added where missing, then
// canaryIngressAnnotations as given, which win a collision.
func specAnnotations(ro *v1alpha1.Rollout) map[string]string {
	prefix := ro.NginxAnnotationPrefixOrDefault()
	cfg := nginxConfig(ro)
	out := map[string]string{}
	for k, v := range cfg.AdditionalIngressAnnotations {
		if !strings.HasPrefix(k, prefix) {
			k = key(prefix, k)
		}
		out[k] = v
	}
	maps.Copy(out, cfg.CanaryIngressAnnotations)
	return out
}

// HeaderRouteKeys are the annotations a header route sets under prefix.
func HeaderRouteKeys(prefix string) []string {
	return []string{
		key(prefix, annoCanaryByHeader),
		key(prefix, annoCanaryByHeaderValue),
		key(prefix, annoCanaryByHeaderPattern),
	}
}

// HeaderRouteAnnotations turns route into NGINX canary-by-header
// annotations under prefix; nil when route has no match. NGINX matches a
// single header, so only the first match is used: exact becomes
// canary-by-header-value, regex canary-by-header-pattern, and prefix the
// pattern ^<prefix>.* (the prefix quoted, so that a "." in it is literal).
func HeaderRouteAnnotations(prefix string, route *v1alpha1.SetHeaderRoute) map[string]string {
	if route == nil || len(route.Match) == 0 {
		return nil
	}
	m := route.Match[0]
	out := map[string]string{key(prefix, annoCanaryByHeader): m.HeaderName}
	v := m.HeaderValue
	switch {
	case v == nil:
	case v.Exact != "":
		out[key(prefix, annoCanaryByHeaderValue)] = v.Exact
	case v.Regex != "":
		out[key(prefix, annoCanaryByHeaderPattern)] = v.Regex
	case v.Prefix != "":
		out[key(prefix, annoCanaryByHeaderPattern)] = "^" + regexp.QuoteMeta(v.Prefix) + ".*"
	}
	return out
}

// WithHeaderRoute returns desired with the header-route keys under prefix
// replaced by route's annotations. A route replaces all three keys, even
// ones the spec sets, because NGINX prefers canary-by-header-value over the
// pattern and a leftover value would silently win.
func WithHeaderRoute(desired map[string]string, prefix string, route *v1alpha1.SetHeaderRoute) map[string]string {
	header := HeaderRouteAnnotations(prefix, route)
	if header == nil {
		return desired
	}
	out := maps.Clone(desired)
	if out == nil {
		out = map[string]string{}
	}
	for _, k := range HeaderRouteKeys(prefix) {
		delete(out, k)
	}
	maps.Copy(out, header)
	return out
}

// MergeAnnotations is desired plus every live annotation desired lacks, so
// annotations other controllers put on the canary Ingress survive a patch;
// keys in drop are not carried over from live, which is how an annotation
// this package used to write (a header route) is removed.
func MergeAnnotations(live, desired map[string]string, drop []string) map[string]string {
	out := maps.Clone(desired)
	if out == nil {
		out = map[string]string{}
	}
	for k, v := range live {
		if _, ok := out[k]; ok || slices.Contains(drop, k) {
			continue
		}
		out[k] = v
	}
	return out
}
