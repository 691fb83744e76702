package dashboard

import (
	"crypto/subtle"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// guard refuses requests addressed to a name the server does not answer
// to (see Config.LoopbackOnly and Config.AllowedHosts), mutations without
// the CSRF token, and mutations from a page of another origin.
func (s *Server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.hostAllowed(r.Host) {
			writeError(w, http.StatusForbidden, s.hostRefused(r.Host))
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			got := r.Header.Get(CSRFHeader)
			if subtle.ConstantTimeCompare([]byte(got), []byte(s.token)) != 1 {
				writeError(w, http.StatusForbidden, fmt.Errorf("missing or wrong %s header: the dashboard's page sends it (reload the page for a fresh token); a script reads it from GET %s/api/v1/token first, as the token changes at every start of the dashboard", CSRFHeader, s.root))
				return
			}
			if o := r.Header.Get("Origin"); o != "" && !s.ownOrigin(o, r.Host) {
				writeError(w, http.StatusForbidden, fmt.Errorf("origin %q refused: actions are accepted only from the dashboard's own page", o))
				return
			}
		}
		h := w.Header()
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		// No other site may embed an answer (no CORS header is ever sent,
		// so none may read one either).
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		h.Set("X-Content-Type-Options", "nosniff")
		next.ServeHTTP(w, r)
	})
}

// tokenForScripts answers GET /api/v1/token with the CSRF token, for
// scripts that act through the API without the page. It gives nothing
// away: a page of another site can send the request but cannot read the
// answer (the same-origin policy, no CORS headers), and a page of another
// name rebound to this address is refused by the Host check. A browser
// sending it for another site's page is refused outright.
func (s *Server) tokenForScripts(w http.ResponseWriter, r *http.Request) {
	if o := r.Header.Get("Origin"); o != "" && !s.ownOrigin(o, r.Host) {
		writeError(w, http.StatusForbidden, fmt.Errorf("origin %q refused: the token is given only to scripts and to the dashboard's own page", o))
		return
	}
	if site := r.Header.Get("Sec-Fetch-Site"); site == "cross-site" || site == "same-site" {
		writeError(w, http.StatusForbidden, fmt.Errorf("a %s request refused: the token is given only to scripts and to the dashboard's own page", site))
		return
	}
	writeJSON(w, http.StatusOK, TokenInfo{Token: s.token, Header: CSRFHeader})
}

// TokenInfo is the answer of /api/v1/token: send Token in the header
// named Header with every action.
type TokenInfo struct {
	Token  string `json:"token"`
	Header string `json:"header"`
}

// hostAllowed tells whether the server answers a request whose Host
// header is hostport.
func (s *Server) hostAllowed(hostport string) bool {
	host := hostname(hostport)
	if host == "localhost" {
		return true
	}
	if ip := net.ParseIP(host); ip != nil && (ip.IsLoopback() || !s.cfg.LoopbackOnly) {
		// An address cannot be rebound: only a name can.
		return true
	}
	return matchesAny(s.cfg.AllowedHosts, host)
}

func (s *Server) hostRefused(hostport string) error {
	answered := "localhost, 127.0.0.1, [::1]"
	if !s.cfg.LoopbackOnly {
		answered = "localhost and IP addresses"
	}
	if len(s.cfg.AllowedHosts) > 0 {
		answered += " and " + strings.Join(s.cfg.AllowedHosts, ", ")
	}
	return fmt.Errorf("host %q refused: the dashboard answers only to %s, which defeats DNS rebinding; to serve it under that name, start it with --allowed-hosts %s", hostport, answered, hostname(hostport))
}

// ownOrigin tells whether a browser's Origin header names the dashboard
// itself: the address the request was sent to, or one of its allowed
// names (a proxy in front may send another Host).
func (s *Server) ownOrigin(origin, host string) bool {
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" {
		return false
	}
	if strings.EqualFold(u.Host, host) {
		return true
	}
	var explicit []string
	for _, p := range s.cfg.AllowedHosts {
		if p != "*" {
			explicit = append(explicit, p)
		}
	}
	return matchesAny(explicit, hostname(u.Host))
}

// hostname is the name of a Host header, lower case, without port,
// brackets or final dot.
func hostname(hostport string) string {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.Trim(host, "[]"), ".")
	return strings.ToLower(host)
}

// matchesAny tells whether host matches a pattern: a name, "*.domain"
// for any name under domain, or "*".
func matchesAny(patterns []string, host string) bool {
	if host == "" {
		return false
	}
	for _, p := range patterns {
		p = hostname(p)
		switch {
		case p == "*":
			return true
		case strings.HasPrefix(p, "*."):
			if strings.HasSuffix(host, p[1:]) {
				return true
			}
		case p == host:
			return true
		}
	}
	return false
}

// CheckAllowedHosts refuses Config.AllowedHosts patterns that would
// never match as meant (a URL, a port, a wildcard inside a name).
func CheckAllowedHosts(patterns []string) error {
	for _, p := range patterns {
		bad := ""
		switch {
		case p == "":
			bad = "is empty"
		case strings.Contains(p, "://") || strings.ContainsAny(p, "/?#@ "):
			bad = "is not a host name (give dash.example.com, not a URL)"
		case strings.Contains(strings.Trim(p, "[]"), ":") && net.ParseIP(strings.Trim(p, "[]")) == nil:
			bad = "has a port: give the name alone, every port is answered"
		case p != "*" && (strings.Contains(strings.TrimPrefix(p, "*."), "*") || strings.Trim(strings.TrimPrefix(p, "*."), ".") == ""):
			bad = `is not a name, "*.domain" or "*" alone`
		}
		if bad != "" {
			return fmt.Errorf("allowed host %q %s", p, bad)
		}
	}
	return nil
}

func noSniff(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Cache-Control", "no-cache")
		next.ServeHTTP(w, r)
	})
}
