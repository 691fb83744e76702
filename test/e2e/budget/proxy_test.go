package budget

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

// recordingProxy stands between the controller and the API server, as
// `kubectl proxy` does, and notes when each request arrives: the API
// server's view of the controller's rate, which no client of the controller
// can bypass. It authenticates upstream with the install's credentials.
type recordingProxy struct {
	Kubeconfig string // for the controller: the proxy, no credentials

	mu       sync.Mutex
	arrivals []arrival
}

type arrival struct {
	at     time.Time
	method string
	path   string
}

func startRecordingProxy(t *testing.T) *recordingProxy {
	t.Helper()
	installKubeconfig, err := framework.Get(t).ControllerKubeconfig()
	if err != nil {
		t.Fatalf("the controller's credentials: %v", err)
	}
	upstream, err := clientcmd.BuildConfigFromFlags("", installKubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	target, err := url.Parse(upstream.Host)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := rest.TransportFor(upstream)
	if err != nil {
		t.Fatal(err)
	}
	p := &recordingProxy{}
	rp := &httputil.ReverseProxy{
		Rewrite:       func(r *httputil.ProxyRequest) { r.SetURL(target) },
		Transport:     tr,
		FlushInterval: -1, // watches stream
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.arrivals = append(p.arrivals, arrival{at: time.Now(), method: r.Method, path: r.URL.RequestURI()})
		p.mu.Unlock()
		rp.ServeHTTP(headersAtOnce{w}, r)
	}))
	t.Cleanup(srv.Close)
	p.Kubeconfig = filepath.Join(t.TempDir(), "kubeconfig")
	kc := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: proxy, cluster: {server: %q}}]
users: [{name: through-proxy, user: {}}]
contexts: [{name: proxy, context: {cluster: proxy, user: through-proxy}}]
current-context: proxy
`, srv.URL)
	if err := os.WriteFile(p.Kubeconfig, []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// Arrivals are the requests received so far, in order of arrival.
func (p *recordingProxy) Arrivals() []arrival {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := slices.Clone(p.arrivals)
	slices.SortFunc(out, func(a, b arrival) int { return a.at.Compare(b.at) })
	return out
}

// busiestWindow is the most requests that arrived within any closed window
// of length w, and where that window starts.
func busiestWindow(as []arrival, w time.Duration) (int, time.Time) {
	best, at := 0, time.Time{}
	j := 0
	for i := range as {
		if j < i {
			j = i
		}
		for j+1 < len(as) && as[j+1].at.Sub(as[i].at) <= w {
			j++
		}
		if n := j - i + 1; n > best {
			best, at = n, as[i].at
		}
	}
	return best, at
}

// headersAtOnce sends a response's headers as soon as they are written: the
// API server does so for a watch, and a client's watch call returns then,
// not at the first event.
type headersAtOnce struct{ http.ResponseWriter }

func (h headersAtOnce) WriteHeader(code int) {
	h.ResponseWriter.WriteHeader(code)
	h.Flush()
}

func (h headersAtOnce) Flush() { _ = http.NewResponseController(h.ResponseWriter).Flush() }

func (h headersAtOnce) Unwrap() http.ResponseWriter { return h.ResponseWriter }
