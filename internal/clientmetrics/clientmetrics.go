// Package clientmetrics counts the controller's requests to the API server
// twice over, from one look at each request: under Argo Rollouts' name and
// labels (controller_clientset_k8s_request_total, argo.go), for the
// dashboards and alerts built on it; and by verb and resource as the API
// server's audit log names them (aviary_api_requests_total), which Argo's
// labels cannot give — they name a subresource write by its object, and
// grow with object names — so the cost of a rollout in API calls can be
// read off /metrics (the benchmarks do) without an audit log.
package clientmetrics

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/rest"
)

// Requests is aviary_api_requests_total{verb,resource,code}.
var Requests = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "aviary_api_requests_total",
	Help: "Requests the controller sent to the Kubernetes API server, by verb, resource (with subresource) and HTTP status code.",
}, []string{"verb", "resource", "code"})

// Instrument makes every client built from cfg count its requests in
// Requests and K8sRequests.
func Instrument(cfg *rest.Config) {
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper { return counting{next: rt} })
}

type counting struct{ next http.RoundTripper }

func (c counting) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := c.next.RoundTrip(req)
	code := "error"
	if err == nil {
		code = strconv.Itoa(resp.StatusCode)
	}
	verb, resource := Classify(req.Method, req.URL)
	Requests.WithLabelValues(verb, resource, code).Inc()
	K8sRequests.WithLabelValues(ArgoLabels(req, resp)).Inc()
	return resp, err
}

// Classify names a request the way the API server's audit log does: verb
// get/list/watch/create/update/patch/delete/deletecollection, and the
// resource with its subresource ("rollouts/status"). Non-resource paths
// (discovery, /version) are resource "-".
func Classify(method string, u *url.URL) (verb, resource string) {
	parts := resourceParts(u.Path)
	named := false
	resource = "-"
	switch {
	case len(parts) == 0:
	case len(parts) >= 3 && parts[0] == "namespaces" && len(parts) > 2:
		// namespaces/<ns>/<resource>[/<name>[/<sub>]]
		resource, named = joinResource(parts[2:])
	default:
		resource, named = joinResource(parts)
	}
	switch method {
	case http.MethodGet:
		switch {
		case u.Query().Get("watch") == "true" || u.Query().Get("watch") == "1":
			verb = "watch"
		case named:
			verb = "get"
		default:
			verb = "list"
		}
	case http.MethodPost:
		verb = "create"
	case http.MethodPut:
		verb = "update"
	case http.MethodPatch:
		verb = "patch"
	case http.MethodDelete:
		verb = "delete"
		if !named {
			verb = "deletecollection"
		}
	default:
		verb = strings.ToLower(method)
	}
	return verb, resource
}

// resourceParts strips the /api/v1 or /apis/<group>/<version> prefix and
// returns the rest of the path's segments, or nil for non-resource paths.
func resourceParts(path string) []string {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	switch {
	case len(segs) >= 3 && segs[0] == "api":
		return segs[2:]
	case len(segs) >= 4 && segs[0] == "apis":
		return segs[3:]
	}
	return nil
}

// joinResource turns <resource>[/<name>[/<sub>]] into "resource[/sub]" and
// whether a name was given.
func joinResource(p []string) (string, bool) {
	switch len(p) {
	case 1:
		return p[0], false
	case 2:
		return p[0], true
	default:
		return p[0] + "/" + p[2], true
	}
}
