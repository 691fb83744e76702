package controllerproc

import (
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"sort"
	"sync"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/aviary-rollouts/aviary/internal/clientmetrics"
)

// Proxy stands between the controller and the API server, as `kubectl
// proxy` does, and notes every request it passes on: when it arrived and
// its verb and resource, named as the controller's own counter names them
// (clientmetrics.Classify).
//
// The benchmarks read the controller's requests and their rate off the
// proxy instead of scraping its /metrics several times a second: /metrics
// renders series for every Rollout, so at N=200 one scrape cost the
// controller about 15 ms of CPU, and five a second would have been a
// third of the CPU a wave measures, growing with N.
//
// The controller speaks TLS and HTTP/2 to the proxy, as it would to the API
// server, so its own work is unchanged; the proxy authenticates upstream
// with the benchmark's credentials.
type Proxy struct {
	srv        *httptest.Server
	kubeconfig string

	mu       sync.Mutex
	requests []Request
	keys     map[[2]string]string // interned "verb resource"
}

// Request is one request the proxy passed on.
type Request struct {
	At time.Time
	// Key is "verb resource", e.g. "patch rollouts/status".
	Key string
}

// StartProxy serves a proxy to the cluster of kubeconfig on a loopback
// port. Kubeconfig is then the controller's way to it.
func StartProxy(kubeconfig string) (*Proxy, error) {
	upstream, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("load %s (run make cluster-up first): %w", kubeconfig, err)
	}
	target, err := url.Parse(upstream.Host)
	if err != nil {
		return nil, fmt.Errorf("API server address %q in %s: %w", upstream.Host, kubeconfig, err)
	}
	tr, err := rest.TransportFor(upstream)
	if err != nil {
		return nil, fmt.Errorf("transport to %s: %w", upstream.Host, err)
	}
	p := &Proxy{keys: map[[2]string]string{}}
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			// The proxy's own token (writeKubeconfig), not for the API
			// server: upstream, the benchmark's credentials speak.
			r.Out.Header.Del("Authorization")
		},
		Transport:     tr,
		FlushInterval: -1, // watches stream
		// Watches end with an error when the controller is stopped.
		ErrorLog: log.New(io.Discard, "", 0),
	}
	p.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.note(r)
		rp.ServeHTTP(w, r)
	}))
	p.srv.EnableHTTP2 = true
	p.srv.StartTLS()
	if err := p.writeKubeconfig(); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

func (p *Proxy) note(r *http.Request) {
	verb, resource := clientmetrics.Classify(r.Method, r.URL)
	p.mu.Lock()
	defer p.mu.Unlock()
	k, ok := p.keys[[2]string{verb, resource}]
	if !ok {
		k = verb + " " + resource
		p.keys[[2]string{verb, resource}] = k
	}
	// Taken under the lock, so the requests are in order of arrival.
	p.requests = append(p.requests, Request{At: time.Now(), Key: k})
}

// writeKubeconfig writes a kubeconfig naming the proxy, trusting its
// certificate, with a token that the proxy drops: Argo Rollouts' client
// asks on its terminal for a user name when a kubeconfig names none.
func (p *Proxy) writeKubeconfig() error {
	f, err := os.CreateTemp("", "aviary-bench-proxy-*.kubeconfig")
	if err != nil {
		return err
	}
	_ = f.Close()
	p.kubeconfig = f.Name()
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["proxy"] = &clientcmdapi.Cluster{Server: p.srv.URL, CertificateAuthorityData: certPEM(p.srv)}
	cfg.AuthInfos["proxy"] = &clientcmdapi.AuthInfo{Token: "bench-proxy"}
	cfg.Contexts["proxy"] = &clientcmdapi.Context{Cluster: "proxy", AuthInfo: "proxy"}
	cfg.CurrentContext = "proxy"
	if err := clientcmd.WriteToFile(*cfg, p.kubeconfig); err != nil {
		return fmt.Errorf("write the proxy's kubeconfig: %w", err)
	}
	return nil
}

// Kubeconfig is the path of a kubeconfig reaching the API server through
// the proxy.
func (p *Proxy) Kubeconfig() string { return p.kubeconfig }

// Between returns the requests that arrived from from to to, in order of
// arrival.
func (p *Proxy) Between(from, to time.Time) []Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	i := sort.Search(len(p.requests), func(i int) bool { return !p.requests[i].At.Before(from) })
	j := sort.Search(len(p.requests), func(i int) bool { return p.requests[i].At.After(to) })
	if j < i {
		return nil
	}
	return append([]Request(nil), p.requests[i:j]...)
}

// Last is when the latest request arrived, zero before the first.
func (p *Proxy) Last() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.requests) == 0 {
		return time.Time{}
	}
	return p.requests[len(p.requests)-1].At
}

// Close stops the proxy, ending the streams it still serves.
func (p *Proxy) Close() {
	p.srv.CloseClientConnections()
	p.srv.Close()
	if p.kubeconfig != "" {
		_ = os.Remove(p.kubeconfig)
	}
}

func certPEM(srv *httptest.Server) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
}
