package trafficsim

import (
	"math"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestRequests(t *testing.T) {
	ready := func(svc string, rate float64) Backend { return Backend{Service: svc, Ready: true, ErrorRate: rate} }
	tests := []struct {
		name  string
		split Split
		// want maps canary label + status to requests.
		want map[[2]string]float64
	}{
		{"no canary ingress", Split{Stable: ready("web", 0), Total: 100},
			map[[2]string]float64{{"", "200"}: 100}},
		{"weight 20, bad canary", Split{Stable: ready("web", 0), Canary: ready("web-canary", 0.5), Weight: 20, Total: 100},
			map[[2]string]float64{{"", "200"}: 80, {"web-canary", "200"}: 10, {"web-canary", "500"}: 10}},
		{"weight total 1000", Split{Stable: ready("web", 0.1), Canary: ready("web-canary", 0), Weight: 250, Total: 1000},
			map[[2]string]float64{{"", "200"}: 67.5, {"", "500"}: 7.5, {"web-canary", "200"}: 25}},
		{"canary without pods answers 503", Split{Stable: ready("web", 0), Canary: Backend{Service: "web-canary"}, Weight: 40, Total: 100},
			map[[2]string]float64{{"", "200"}: 60, {"web-canary", "503"}: 40}},
		{"weight above total is all canary", Split{Stable: ready("web", 0), Canary: ready("web-canary", 0), Weight: 150, Total: 100},
			map[[2]string]float64{{"web-canary", "200"}: 100}},
		{"canary ingress at 0", Split{Stable: ready("web", 1), Canary: ready("web-canary", 0), Weight: 0, Total: 100},
			map[[2]string]float64{{"", "500"}: 100}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := map[[2]string]float64{}
			for _, c := range tt.split.Requests(100) {
				if c.Service != tt.split.Stable.Service {
					t.Errorf("service label %q, want the main service %q", c.Service, tt.split.Stable.Service)
				}
				got[[2]string{c.Canary, c.Status}] += c.N
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for k, v := range tt.want {
				if math.Abs(got[k]-v) > 1e-9 {
					t.Fatalf("got %v, want %v", got, tt.want)
				}
			}
		})
	}
}

func TestErrorRateOf(t *testing.T) {
	tmpl := func(env ...corev1.EnvVar) *corev1.PodTemplateSpec {
		return &corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "sidecar"}, {Name: "app", Env: env}}}}
	}
	tests := []struct {
		name    string
		t       *corev1.PodTemplateSpec
		want    float64
		wantErr bool
	}{
		{"unset", tmpl(), 0, false},
		{"percent", tmpl(corev1.EnvVar{Name: ErrorRateEnv, Value: "50"}), 0.5, false},
		{"with sign", tmpl(corev1.EnvVar{Name: ErrorRateEnv, Value: " 12.5% "}), 0.125, false},
		{"not a number", tmpl(corev1.EnvVar{Name: ErrorRateEnv, Value: "half"}), 0, true},
		{"above 100", tmpl(corev1.EnvVar{Name: ErrorRateEnv, Value: "150"}), 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ErrorRateOf(tt.t)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("got %v, %v; want %v, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}
