package clientmetrics

import (
	"net/url"
	"testing"
)

func TestClassify(t *testing.T) {
	for _, c := range []struct{ method, url, verb, resource string }{
		{"GET", "/apis/argoproj.io/v1alpha1/namespaces/a/rollouts?limit=500", "list", "rollouts"},
		{"GET", "/apis/argoproj.io/v1alpha1/rollouts?watch=true&resourceVersion=5", "watch", "rollouts"},
		{"GET", "/apis/argoproj.io/v1alpha1/namespaces/a/rollouts/web", "get", "rollouts"},
		{"PATCH", "/apis/argoproj.io/v1alpha1/namespaces/a/rollouts/web/status", "patch", "rollouts/status"},
		{"POST", "/apis/apps/v1/namespaces/a/replicasets", "create", "replicasets"},
		{"PUT", "/apis/coordination.k8s.io/v1/namespaces/a/leases/lock", "update", "leases"},
		{"POST", "/api/v1/namespaces/a/pods/p/eviction", "create", "pods/eviction"},
		{"POST", "/api/v1/namespaces/a/events", "create", "events"},
		{"GET", "/api/v1/namespaces/a", "get", "namespaces"},
		{"GET", "/api/v1/namespaces", "list", "namespaces"},
		{"DELETE", "/apis/apps/v1/namespaces/a/replicasets/x", "delete", "replicasets"},
		{"DELETE", "/apis/apps/v1/namespaces/a/replicasets", "deletecollection", "replicasets"},
		{"GET", "/apis", "list", "-"},
		{"GET", "/version", "list", "-"},
	} {
		u, err := url.Parse(c.url)
		verb, resource := Classify(c.method, u)
		if err != nil || verb != c.verb || resource != c.resource {
			t.Errorf("%s %s = %s %s (%v), want %s %s", c.method, c.url, verb, resource, err, c.verb, c.resource)
		}
	}
}
