package dashboard

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/manager"
)

// testServer is the dashboard over a fake client: enough for the guard,
// the routing and the actions (the watches need a real API server and are
// tested end to end in test/e2e/dashboard).
type testServer struct {
	*httptest.Server
	token   string
	patches []string
}

func newTestServer(t *testing.T, objs ...client.Object) *testServer {
	t.Helper()
	return newTestServerWith(t, nil, objs...)
}

// newTestServerWith is newTestServer with its Config changed by configure
// (LoopbackOnly and AllowedHosts, say).
func newTestServerWith(t *testing.T, configure func(*Config), objs ...client.Object) *testServer {
	t.Helper()
	scheme, err := manager.Scheme()
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{}
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(objs...).
		WithStatusSubresource(&v1alpha1.Rollout{}).
		WithInterceptorFuncs(interceptor.Funcs{
			Patch: func(ctx context.Context, c client.WithWatch, obj client.Object, p client.Patch, opts ...client.PatchOption) error {
				body, _ := p.Data(obj)
				ts.patches = append(ts.patches, string(body))
				return c.Patch(ctx, obj, p, opts...)
			},
			SubResourcePatch: func(ctx context.Context, c client.Client, sub string, obj client.Object, p client.Patch, opts ...client.SubResourcePatchOption) error {
				body, _ := p.Data(obj)
				ts.patches = append(ts.patches, sub+" "+string(body))
				return c.SubResource(sub).Patch(ctx, obj, p, opts...)
			},
		}).Build()
	cfg := Config{Scheme: scheme, Client: c, Namespace: "ns", RootPath: "rollouts", Version: "v-test", LoopbackOnly: true,
		Now: func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }}
	if configure != nil {
		configure(&cfg)
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts.Server = httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	t.Cleanup(srv.Close)
	page := ts.get(t, "/rollouts/rollout/ns/web", nil)
	m := regexp.MustCompile(`<meta name="csrf-token" content="([0-9a-f]{64})">`).FindStringSubmatch(page.body)
	if m == nil {
		t.Fatalf("the page carries no CSRF token:\n%s", page.body)
	}
	ts.token = m[1]
	return ts
}

type answer struct {
	code   int
	body   string
	header http.Header
}

func (ts *testServer) do(t *testing.T, method, path string, header map[string]string, body string) answer {
	t.Helper()
	req, err := http.NewRequest(method, ts.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return answer{res.StatusCode, string(b), res.Header}
}

func (ts *testServer) get(t *testing.T, path string, header map[string]string) answer {
	t.Helper()
	return ts.do(t, http.MethodGet, path, header, "")
}

// rollout is a canary updating from hash "a" to "b", at step 0 of 2.
func rollout() *v1alpha1.Rollout {
	w := int32(50)
	zero := int32(0)
	return &v1alpha1.Rollout{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns"},
		Spec: v1alpha1.RolloutSpec{Strategy: v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{
			Steps: []v1alpha1.CanaryStep{{SetWeight: &w}, {Pause: &v1alpha1.RolloutPause{}}},
		}}},
		Status: v1alpha1.RolloutStatus{StableRS: "a", CurrentPodHash: "b", CurrentStepIndex: &zero},
	}
}

func TestGuardRefusesMutationsWithoutTheToken(t *testing.T) {
	ts := newTestServer(t, rollout())
	for _, tc := range []struct {
		name   string
		header map[string]string
		code   int
		says   string
	}{
		{"no token", nil, http.StatusForbidden, "X-CSRF-Token"},
		{"wrong token", map[string]string{CSRFHeader: strings.Repeat("0", 64)}, http.StatusForbidden, "X-CSRF-Token"},
		{"other origin", map[string]string{CSRFHeader: ts.token, "Origin": "http://evil.example"}, http.StatusForbidden, "origin"},
		{"token", map[string]string{CSRFHeader: ts.token}, http.StatusOK, "rollout 'web' aborted"},
		{"token and own origin", map[string]string{CSRFHeader: ts.token, "Origin": ts.URL}, http.StatusOK, "aborted"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts.patches = nil
			got := ts.do(t, http.MethodPut, "/rollouts/api/v1/rollouts/ns/web/abort", tc.header, "")
			if got.code != tc.code || !strings.Contains(got.body, tc.says) {
				t.Fatalf("got %d %s, want %d containing %q", got.code, got.body, tc.code, tc.says)
			}
			if sent := len(ts.patches) > 0; sent != (tc.code == http.StatusOK) {
				t.Fatalf("patches sent: %q", ts.patches)
			}
		})
	}
}

func TestGuardAnswersOnlyLoopbackNames(t *testing.T) {
	ts := newTestServer(t)
	for host, code := range map[string]int{
		"localhost:3100": http.StatusOK, "127.0.0.1:3100": http.StatusOK, "[::1]:3100": http.StatusOK, "127.0.0.2": http.StatusOK,
		"evil.example:3100": http.StatusForbidden, "10.0.0.1:3100": http.StatusForbidden, "localhost.evil.example": http.StatusForbidden,
	} {
		if got := ts.get(t, "/rollouts/api/v1/version", map[string]string{"Host": host}); got.code != code {
			t.Errorf("Host %s: %d %s, want %d", host, got.code, got.body, code)
		}
	}
}

func TestRoutes(t *testing.T) {
	ts := newTestServer(t)
	for _, tc := range []struct {
		method, path string
		code         int
		says         string
	}{
		{"GET", "/rollouts/api/v1/version", 200, `"rolloutsVersion":"v-test"`},
		{"GET", "/rollouts/api/v1/namespace", 200, `"availableNamespaces":["ns"]`},
		{"GET", "/rollouts/api/v1/nothing", 404, "no API"},
		{"GET", "/rollouts/", 200, `<meta name="default-namespace" content="ns">`},
		{"GET", "/rollouts/rollout/ns/web", 200, `src="/rollouts/assets/app.js"`},
		{"GET", "/rollouts/assets/app.js", 200, "import"},
		{"GET", "/rollouts/assets/style.css", 200, ":root"},
		{"POST", "/rollouts/", 403, "X-CSRF-Token"},
		{"GET", "/elsewhere", 404, ""},
	} {
		if got := ts.do(t, tc.method, tc.path, nil, ""); got.code != tc.code || !strings.Contains(got.body, tc.says) {
			t.Errorf("%s %s: %d %.200s, want %d containing %q", tc.method, tc.path, got.code, got.body, tc.code, tc.says)
		}
	}
}

// The actions send the CLI's patches (internal/clientside/patch builds both).
func TestActionsSendTheCLIPatches(t *testing.T) {
	for _, tc := range []struct {
		path, body string
		want       []string
	}{
		{"promote", `{"full":true}`, []string{`status {"status":{"promoteFull":true}}`}},
		{"promote", `{"full":false}`, []string{`status {"status":{"pauseConditions":null,"currentStepIndex":1}}`}},
		{"abort", "", []string{`status {"status":{"abort":true}}`}},
		{"retry", "", []string{`status {"status":{"abort":false}}`}},
		{"pause", "", []string{`{"spec":{"paused":true}}`}},
		{"restart", "", []string{`{"spec":{"restartAt":"2026-01-02T03:04:05Z"}}`}},
	} {
		t.Run(tc.path, func(t *testing.T) {
			ts := newTestServer(t, rollout())
			got := ts.do(t, http.MethodPut, "/rollouts/api/v1/rollouts/ns/web/"+tc.path, map[string]string{CSRFHeader: ts.token}, tc.body)
			if got.code != http.StatusOK {
				t.Fatalf("%d %s", got.code, got.body)
			}
			if strings.Join(ts.patches, "\n") != strings.Join(tc.want, "\n") {
				t.Fatalf("patches\n%s\nwant\n%s", strings.Join(ts.patches, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

func TestActionErrorsAreReadable(t *testing.T) {
	ts := newTestServer(t, rollout())
	tok := map[string]string{CSRFHeader: ts.token}
	for _, tc := range []struct {
		path, body string
		code       int
		says       string
	}{
		{"/rollouts/api/v1/rollouts/ns/missing/abort", "", 404, `rollout \"missing\" not found in namespace \"ns\"`},
		{"/rollouts/api/v1/rollouts/ns/web/promote", "{", 400, "request body"},
		{"/rollouts/api/v1/rollouts/ns/web/undo/x", "", 400, "revision number"},
		{"/rollouts/api/v1/rollouts/ns/web/set/app/nginx", "", 400, "IMAGE/TAG"},
	} {
		got := ts.do(t, http.MethodPut, tc.path, tok, tc.body)
		var e errorBody
		if got.code != tc.code || json.Unmarshal([]byte(got.body), &e) != nil || !strings.Contains(got.body, tc.says) {
			t.Errorf("%s: %d %s, want %d with %q", tc.path, got.code, got.body, tc.code, tc.says)
		}
	}
}

func TestImageFromPath(t *testing.T) {
	for path, want := range map[string]string{
		"argoproj/rollouts-demo/green":          "argoproj/rollouts-demo:green",
		"nginx/1.27":                            "nginx:1.27",
		"localhost:5000/team/app/v2":            "localhost:5000/team/app:v2",
		"app/sha256:" + strings.Repeat("a", 64): "app@sha256:" + strings.Repeat("a", 64),
	} {
		if got, err := imageFromPath(path); err != nil || got != want {
			t.Errorf("imageFromPath(%q) = %q, %v; want %q", path, got, err, want)
		}
	}
	for _, bad := range []string{"nginx", "/green", "nginx/"} {
		if _, err := imageFromPath(bad); err == nil {
			t.Errorf("imageFromPath(%q) accepted", bad)
		}
	}
}
