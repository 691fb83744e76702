// Package dashboard is `kubectl argo rollouts dashboard`: an HTTP server
// with the Argo Rollouts dashboard's REST API (rollout list and detail,
// their watches as Server-Sent Events, the actions) and a web UI embedded
// in the binary. It acts with the caller's kubeconfig, like the CLI, and
// sends the CLI's patches.
package dashboard

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"net"
	"net/http"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// CSRFHeader carries the token every mutating request must present.
const CSRFHeader = "X-CSRF-Token"

// Config is what the server needs.
type Config struct {
	// RESTConfig and Scheme start the namespace watches; Client sends
	// the actions and lists namespaces.
	RESTConfig *rest.Config
	Scheme     *runtime.Scheme
	Client     client.Client
	// Namespace is shown first.
	Namespace string
	// RootPath is the path the UI and API live under, without slashes
	// ("rollouts").
	RootPath string
	// Version is shown in the header and by /api/v1/version.
	Version string
	// LoopbackOnly is set when the server listens on loopback: it then
	// answers only requests addressed to a loopback name (localhost,
	// 127.0.0.1, [::1]) or to AllowedHosts. Listening elsewhere, it also
	// answers requests addressed to an IP address. A name is never
	// answered unless listed: that defeats DNS rebinding, also behind
	// `kubectl port-forward`.
	LoopbackOnly bool
	// AllowedHosts are the further names the server answers to (the
	// name of an Ingress, of the Service): "dash.example.com",
	// "*.example.com" for any name under example.com, or "*" for every
	// name. A page served under one of them may send actions too.
	AllowedHosts []string
	// Now is the clock of restart; time.Now if nil.
	Now func() time.Time
	// Log, if set, gets a line per action and per failed request.
	Log io.Writer
}

// Server serves the dashboard.
type Server struct {
	cfg   Config
	root  string // "/rollouts"
	token string
	hub   *hub
	index *template.Template
}

// New builds a server; Close stops its watches.
func New(cfg Config) (*Server, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	token := make([]byte, 32)
	if _, err := rand.Read(token); err != nil {
		return nil, fmt.Errorf("csrf token: %w", err)
	}
	index, err := template.ParseFS(uiFiles, "ui/index.html")
	if err != nil {
		return nil, fmt.Errorf("dashboard page: %w", err)
	}
	if err := CheckAllowedHosts(cfg.AllowedHosts); err != nil {
		return nil, err
	}
	root := "/" + strings.Trim(cfg.RootPath, "/")
	if root == "/" {
		root = ""
	}
	return &Server{cfg: cfg, root: root, token: hex.EncodeToString(token), hub: newHub(cfg.RESTConfig, cfg.Scheme), index: index}, nil
}

// Close stops the namespace watches.
func (s *Server) Close() { s.hub.close() }

// URLPath is the path of the UI ("/rollouts/").
func (s *Server) URLPath() string { return s.root + "/" }

// Handler is the whole dashboard: UI, assets and API.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	api := s.root + "/api/v1"
	mux.HandleFunc("GET "+api+"/version", s.version)
	mux.HandleFunc("GET "+api+"/token", s.tokenForScripts)
	mux.HandleFunc("GET "+api+"/namespace", s.namespaces)
	mux.HandleFunc("GET "+api+"/rollouts/{ns}/info", s.list)
	mux.HandleFunc("GET "+api+"/rollouts/{ns}/info/watch", s.watchList)
	mux.HandleFunc("GET "+api+"/rollouts/{ns}/{name}/info", s.detail)
	mux.HandleFunc("GET "+api+"/rollouts/{ns}/{name}/info/watch", s.watchDetail)
	mux.HandleFunc("PUT "+api+"/rollouts/{ns}/{name}/promote", s.promote)
	mux.HandleFunc("PUT "+api+"/rollouts/{ns}/{name}/abort", s.abort)
	mux.HandleFunc("PUT "+api+"/rollouts/{ns}/{name}/retry", s.retry)
	mux.HandleFunc("PUT "+api+"/rollouts/{ns}/{name}/restart", s.restart)
	mux.HandleFunc("PUT "+api+"/rollouts/{ns}/{name}/pause", s.pause)
	mux.HandleFunc("PUT "+api+"/rollouts/{ns}/{name}/set/{container}/{image...}", s.setImage)
	mux.HandleFunc("PUT "+api+"/rollouts/{ns}/{name}/undo/{revision}", s.undo)
	assets, _ := fs.Sub(uiFiles, "ui")
	mux.Handle("GET "+s.root+"/assets/", http.StripPrefix(s.root+"/assets/", noSniff(http.FileServerFS(assets))))
	mux.HandleFunc(s.root+"/", s.page)
	if s.root != "" {
		mux.Handle("GET "+s.root, http.RedirectHandler(s.root+"/", http.StatusMovedPermanently))
		mux.Handle("GET /{$}", http.RedirectHandler(s.root+"/", http.StatusFound))
	}
	if s.cfg.Log == nil {
		return s.guard(mux)
	}
	return logRequests(s.cfg.Log, s.cfg.Now, s.guard(mux))
}

// page serves the single page of the UI for every path under the root,
// so a rollout's address can be bookmarked and reloaded.
func (s *Server) page(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, s.root+"/api/") {
		writeError(w, http.StatusNotFound, fmt.Errorf("no API %s %s", r.Method, r.URL.Path))
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeError(w, http.StatusMethodNotAllowed, fmt.Errorf("%s %s: the page is only read", r.Method, r.URL.Path))
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'")
	data := struct{ Root, Token, Namespace, Version string }{s.root, s.token, s.cfg.Namespace, s.cfg.Version}
	if err := s.index.Execute(w, data); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}

// Serve listens on l until ctx ends, then shuts down gracefully.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second, BaseContext: func(net.Listener) context.Context { return ctx }}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutdown)
	s.Close()
	return nil
}
