// Package trafficsim simulates the requests an NGINX ingress controller
// serves for a canary, for machines that cannot run a real one (the local
// control plane has no data plane: pods on kwok nodes never run). It reads
// what a real NGINX would act on — the stable Ingress, the canary Ingress
// weight the rollout controller writes, the Services' selectors and the
// ReplicaSets behind them — and counts simulated requests in
// nginx_ingress_controller_requests, the counter NGINX exports, with each
// version failing at the error rate its pod template declares.
//
// PodTraffic does the same for the pods' own metrics: each running pod's
// requests, their durations around the median its template declares and
// its error rate, as an instrumented application exports them.
//
// It is a simulator, not a proxy: no request is sent anywhere.
package trafficsim

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// ErrorRateEnv is the container environment variable a pod template uses
// to declare the share of requests its version fails, in percent (0–100),
// like the error slider of the Argo Rollouts demo app.
const ErrorRateEnv = "ERROR_RATE"

// Backend is one version behind the ingress as the simulator sees it.
type Backend struct {
	// Service is the Service name the Ingress routes to.
	Service string
	// Ready reports whether the Service selects a ReplicaSet with available
	// pods; requests to a backend that is not ready fail with 503, as NGINX
	// answers when a Service has no endpoints.
	Ready bool
	// ErrorRate is the share of requests the version fails, 0–1.
	ErrorRate float64
}

// Split is the traffic split in force: the stable backend, the canary
// backend (empty Service when there is no canary Ingress) and the canary's
// weight out of Total.
type Split struct {
	// Ingress is the stable Ingress name, the `ingress` label of every
	// request (NGINX reports canary requests under the main Ingress too).
	Ingress string
	Stable  Backend
	Canary  Backend
	// Weight is the canary Ingress's canary-weight.
	Weight int32
	// Total is canary-weight-total (100 unless set).
	Total int32
}

// CanaryShare is the share of requests the canary gets, 0–1.
func (s Split) CanaryShare() float64 {
	if s.Canary.Service == "" || s.Total <= 0 {
		return 0
	}
	return math.Min(math.Max(float64(s.Weight)/float64(s.Total), 0), 1)
}

// Count is a number of requests with one set of labels.
type Count struct {
	// Service is the main Service of the Ingress, as NGINX labels it.
	Service string
	// Canary is the canary Service for requests the canary served, else "".
	Canary string
	// Status is the HTTP status code.
	Status string
	// N is the number of requests (fractional: counters are rates' raw
	// material, and a fixed fractional split keeps ratios exact).
	N float64
}

// Requests splits n requests by the canary share and each backend's error
// rate. It returns only non-zero counts.
func (s Split) Requests(n float64) []Count {
	share := s.CanaryShare()
	var out []Count
	add := func(b Backend, canary string, n float64) {
		if n <= 0 {
			return
		}
		if !b.Ready {
			out = append(out, Count{Service: s.Stable.Service, Canary: canary, Status: "503", N: n})
			return
		}
		bad := n * math.Min(math.Max(b.ErrorRate, 0), 1)
		if good := n - bad; good > 0 {
			out = append(out, Count{Service: s.Stable.Service, Canary: canary, Status: "200", N: good})
		}
		if bad > 0 {
			out = append(out, Count{Service: s.Stable.Service, Canary: canary, Status: "500", N: bad})
		}
	}
	add(s.Stable, "", n*(1-share))
	add(s.Canary, s.Canary.Service, n*share)
	return out
}

// ErrorRateOf reads the error rate a pod template declares through
// ErrorRateEnv on any of its containers (the first that sets it); 0 when
// none does.
func ErrorRateOf(t *corev1.PodTemplateSpec) (float64, error) {
	return errorRate(&t.Spec)
}

func errorRate(spec *corev1.PodSpec) (float64, error) {
	container, value, ok := env(spec, ErrorRateEnv)
	if !ok {
		return 0, nil
	}
	v, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(value), "%"), 64)
	if err != nil || v < 0 || v > 100 {
		return 0, fmt.Errorf("container %q: %s=%q is not a percentage between 0 and 100", container, ErrorRateEnv, value)
	}
	return v / 100, nil
}

// env is the value of the first container's variable name, and that
// container's name; ok is false when no container sets it.
func env(spec *corev1.PodSpec, name string) (container, value string, ok bool) {
	for _, c := range spec.Containers {
		for _, e := range c.Env {
			if e.Name == name {
				return c.Name, e.Value, true
			}
		}
	}
	return "", "", false
}
