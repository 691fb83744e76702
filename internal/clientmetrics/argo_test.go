package clientmetrics

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
)

// TestArgoLabels: the labels Argo Rollouts' request counter gives each kind
// of request its controller sends, quirks included: argoproj/pkg
// kubeclientmetrics' own test cases, and the others as its wrapper
// (v0.13.6) labelled them when run on these requests.
func TestArgoLabels(t *testing.T) {
	const api = "https://127.0.0.1:6443"
	for _, c := range []struct {
		method, url, body string
		status            int // 0: no response
		want              string
	}{
		{"GET", "/api/v1/namespaces/default/pods", "", 200, "pods default N/A List 200"},
		{"GET", "/api/v1/pods", "", 200, "pods  N/A List 200"},
		{"GET", "/api/v1/namespaces/default/pods/pod-name-123456", "", 200, "pods default pod-name-123456 Get 200"},
		{"GET", "/api/v1/namespaces", "", 200, "namespaces  N/A List 200"},
		{"GET", "/api/v1/namespaces/default", "", 404, "namespaces  default Get 404"},
		{"GET", "/apis/apps/v1/namespaces/default/replicasets", "", 200, "replicasets default N/A List 200"},
		{"GET", "/apis/apps/v1/namespaces/default/replicasets/rs-abc123", "", 200, "replicasets default N/A Get 200"},
		{"GET", "/apis/rbac.authorization.k8s.io/v1/clusterroles/argo-rollouts-clusterrole", "", 200, "clusterroles  argo-rollouts-clusterrole Get 200"},
		{"GET", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/rollouts.argoproj.io", "", 200, "customresourcedefinitions  rollouts.argoproj.io Get 200"},
		{"GET", "/apis/argoproj.io/v1alpha1/namespaces/argocd/applications/my-cluster.cluster.k8s.local", "", 200, "applications argocd my-cluster.cluster.k8s.local Get 200"},
		// A list whose name-like segment has a dot still counts as a GET.
		{"GET", "/apis/argoproj.io/v1alpha1/clusteranalysistemplates", "", 200, "clusteranalysistemplates  N/A List 200"},
		{"GET", "/api/v1/namespaces?resourceVersion=343003&watch=true", "", 200, "namespaces   Watch 200"},
		{"GET", "/api/v1/namespaces?fieldSelector=metadata.name%3Ddefault&resourceVersion=0&watch=true", "", 200, "namespaces  default Watch 200"},
		{"GET", "/api/v1/namespaces/kube-system/serviceaccounts?resourceVersion=343091&watch=true", "", 200, "serviceaccounts kube-system  Watch 200"},
		{"GET", "/apis/argoproj.io/v1alpha1/namespaces/shop/rollouts?allowWatchBookmarks=true&watch=true", "", 200, "rollouts shop  Watch 200"},
		// A subresource is labelled by its object's name (kind) and
		// resource (namespace), as Argo Rollouts does.
		{"PATCH", "/apis/argoproj.io/v1alpha1/namespaces/shop/rollouts/web/status", "{}", 200, "web rollouts status Patch 200"},
		{"PUT", "/apis/argoproj.io/v1alpha1/namespaces/shop/analysisruns/web-1/status", "{}", 409, "web-1 analysisruns status Update 409"},
		{"GET", "/api/v1/namespaces/shop/pods/p/log", "", 200, "p pods log Get 200"},
		{"GET", "/api/v1/namespaces/shop/configmaps/a.b.c", "", 200, "configmaps shop a.b.c Get 200"},
		{"PATCH", "/apis/apps/v1/namespaces/shop/replicasets/web-6d4f", "{}", 200, "replicasets shop N/A Patch 200"},
		{"PATCH", "/api/v1/namespaces/shop/services/web", "{}", 200, "services shop web Patch 200"},
		{"PUT", "/apis/coordination.k8s.io/v1/namespaces/aviary/leases/aviary-controller-lock", "{}", 200, "leases aviary aviary-controller-lock Update 200"},
		{"DELETE", "/apis/argoproj.io/v1alpha1/namespaces/shop/analysisruns/web-1", "", 200, "analysisruns shop web-1 Delete 200"},
		// A create's namespace and name are the object's.
		{"POST", "/apis/argoproj.io/v1alpha1/namespaces/shop/analysisruns", `{"kind":"AnalysisRun","metadata":{"name":"web-2","namespace":"shop"}}`, 201, "analysisruns shop web-2 Create 201"},
		{"POST", "/api/v1/namespaces/shop/events", `{"metadata":{"name":"web.1","namespace":"shop"}}`, 201, "events shop N/A Create 201"},
		{"POST", "/api/v1/namespaces/shop/pods/web-1/eviction", `{"metadata":{"name":"web-1","namespace":"shop"}}`, 429, "eviction shop web-1 Create 429"},
		{"POST", "/apis/argoproj.io/v1alpha1/namespaces/shop/experiments", `{"metadata":{"generateName":"x-"}}`, 201, "experiments   Create 201"},
		{"POST", "/api/v1/namespaces/shop/services", "not json", 201, "   Create 201"},
		// No response: status_code 0.
		{"GET", "/apis/argoproj.io/v1alpha1/namespaces/shop/rollouts/web", "", 0, "rollouts shop web Get 0"},
		// Not a resource path: a GET of the last segment.
		{"GET", "/version", "", 200, "  version Get 200"},
		{"GET", "/apis", "", 200, "  apis Get 200"},
		{"GET", "/apis/argoproj.io/v1alpha1", "", 200, "argoproj.io  v1alpha1 Get 200"},
		{"OPTIONS", "/api/v1/namespaces/shop/pods", "", 200, "Unknown Unknown Unknown Unknown 200"},
	} {
		var body io.Reader
		if c.body != "" {
			body = strings.NewReader(c.body)
		}
		req, err := http.NewRequest(c.method, api+c.url, body)
		if err != nil {
			t.Fatal(err)
		}
		var resp *http.Response
		if c.status != 0 {
			resp = &http.Response{StatusCode: c.status}
		}
		kind, ns, name, verb, code := ArgoLabels(req, resp)
		if got := strings.Join([]string{kind, ns, name, verb, code}, " "); got != c.want {
			t.Errorf("%s %s: kind namespace name verb status_code = %q, want %q", c.method, c.url, got, c.want)
		}
	}
}

// TestInstrumentCountsBoth: a client built from an instrumented config
// counts each request under both names, a create's namespace and name
// read from the protobuf client-go sends, whose body still reaches the
// server whole.
func TestInstrumentCountsBoth(t *testing.T) {
	var got string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got = string(b)
		w.Header().Set("Content-Type", r.Header.Get("Content-Type"))
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write(b)
	}))
	defer srv.Close()
	cfg := &rest.Config{Host: srv.URL}
	Instrument(cfg)
	c, err := typedcorev1.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "count-ns", Name: "count-svc"}}
	before := testutil.ToFloat64(Requests.WithLabelValues("create", "services", "201"))
	if _, err := c.Services("count-ns").Create(context.Background(), svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// client-go sends built-in kinds as protobuf: read, not consumed.
	if !strings.HasPrefix(got, "k8s\x00") || !strings.Contains(got, "count-svc") {
		t.Errorf("the server got %q", got)
	}
	if n := testutil.ToFloat64(Requests.WithLabelValues("create", "services", "201")) - before; n != 1 {
		t.Errorf("aviary_api_requests_total{create,services,201} rose by %v, want 1", n)
	}
	want := `
# HELP controller_clientset_k8s_request_total Number of kubernetes requests executed during application reconciliation.
# TYPE controller_clientset_k8s_request_total counter
controller_clientset_k8s_request_total{kind="services",name="count-svc",namespace="count-ns",status_code="201",verb="Create"} 1
`
	if err := testutil.CollectAndCompare(K8sRequests, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
}

// BenchmarkArgoLabels: the cost per request of Argo's labels, for the
// requests a reconcile sends most (a status patch, a GET, an Event create
// in protobuf).
func BenchmarkArgoLabels(b *testing.B) {
	patch, _ := http.NewRequest("PATCH", "https://127.0.0.1:6443/apis/argoproj.io/v1alpha1/namespaces/shop/rollouts/web/status", strings.NewReader("{}"))
	get, _ := http.NewRequest("GET", "https://127.0.0.1:6443/apis/argoproj.io/v1alpha1/namespaces/shop/analysisruns/web-1", nil)
	event := append([]byte("k8s\x00"), []byte("\n\x0b\n\x02v1\x12\x05Event\x12\x1a\n\x18\n\x05web.1\x1a\x04shop\"\x00*\x002\x00")...)
	create, _ := http.NewRequest("POST", "https://127.0.0.1:6443/api/v1/namespaces/shop/events", bytes.NewReader(event))
	resp := &http.Response{StatusCode: 200}
	b.ReportAllocs()
	for b.Loop() {
		for _, r := range []*http.Request{patch, get, create} {
			K8sRequests.WithLabelValues(ArgoLabels(r, resp)).Inc()
		}
	}
}
