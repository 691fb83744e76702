package dashboard

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// A script reads the token from the API, as the page reads it from its
// meta element, and sends it with an action; without it the action is
// refused with a message that says where to get it.
func TestScriptGetsTheTokenAndPromotes(t *testing.T) {
	ts := newTestServer(t, rollout())
	got := ts.get(t, "/rollouts/api/v1/token", nil)
	var info TokenInfo
	if got.code != http.StatusOK || json.Unmarshal([]byte(got.body), &info) != nil {
		t.Fatalf("GET token: %d %s", got.code, got.body)
	}
	if info.Token != ts.token || info.Header != CSRFHeader {
		t.Fatalf("GET token: %+v, want the page's token %s in header %s", info, ts.token, CSRFHeader)
	}
	if ct := got.header.Get("Content-Type"); ct != "application/json" || got.header.Get("Cache-Control") != "no-store" {
		t.Errorf("GET token: Content-Type %q, Cache-Control %q; want application/json, no-store", ct, got.header.Get("Cache-Control"))
	}

	refused := ts.do(t, http.MethodPut, "/rollouts/api/v1/rollouts/ns/web/promote", nil, "")
	var e errorBody
	if refused.code != http.StatusForbidden || json.Unmarshal([]byte(refused.body), &e) != nil ||
		!strings.Contains(e.Error, "X-CSRF-Token") || !strings.Contains(e.Error, "GET /rollouts/api/v1/token") {
		t.Fatalf("PUT promote without the token: %d %s, want 403 naming the header and the token endpoint", refused.code, refused.body)
	}
	if len(ts.patches) > 0 {
		t.Fatalf("the refused promote sent %q", ts.patches)
	}

	ok := ts.do(t, http.MethodPut, "/rollouts/api/v1/rollouts/ns/web/promote", map[string]string{info.Header: info.Token}, "")
	if ok.code != http.StatusOK || !strings.Contains(ok.body, "rollout 'web' promoted") {
		t.Fatalf("PUT promote with the token: %d %s", ok.code, ok.body)
	}
	if want := `status {"status":{"pauseConditions":null,"currentStepIndex":1}}`; strings.Join(ts.patches, "\n") != want {
		t.Fatalf("patches %q, want %s", ts.patches, want)
	}
}

// What a page of another site can make a browser send gets it nothing:
// the token endpoint refuses it (and could not be read anyway: no CORS
// header), and an action it sends lacks the header.
func TestOtherSitesGetNeitherTokenNorAction(t *testing.T) {
	ts := newTestServer(t, rollout())
	for _, tc := range []struct {
		name   string
		header map[string]string
		code   int
	}{
		{"a script", nil, http.StatusOK},
		{"the dashboard's page", map[string]string{"Origin": ts.URL, "Sec-Fetch-Site": "same-origin"}, http.StatusOK},
		{"typed in the address bar", map[string]string{"Sec-Fetch-Site": "none"}, http.StatusOK},
		{"another origin", map[string]string{"Origin": "http://evil.example"}, http.StatusForbidden},
		{"a null origin", map[string]string{"Origin": "null"}, http.StatusForbidden},
		{"cross-site without Origin", map[string]string{"Sec-Fetch-Site": "cross-site"}, http.StatusForbidden},
		{"same-site", map[string]string{"Sec-Fetch-Site": "same-site"}, http.StatusForbidden},
	} {
		got := ts.get(t, "/rollouts/api/v1/token", tc.header)
		if got.code != tc.code {
			t.Errorf("GET token from %s: %d %s, want %d", tc.name, got.code, got.body, tc.code)
		}
		if tc.code == http.StatusForbidden && strings.Contains(got.body, ts.token) {
			t.Errorf("GET token from %s: the refusal carries the token", tc.name)
		}
		if acao := got.header.Get("Access-Control-Allow-Origin"); acao != "" {
			t.Errorf("GET token from %s: Access-Control-Allow-Origin %q lets another site read it", tc.name, acao)
		}
		if got.header.Get("Cross-Origin-Resource-Policy") != "same-origin" || got.header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET token from %s: headers %v, want CORP same-origin and nosniff", tc.name, got.header)
		}
	}

	// An HTML form can only POST, with no header of its own; the token in
	// its body is no token.
	form := map[string]string{"Origin": "http://evil.example", "Content-Type": "application/x-www-form-urlencoded"}
	for _, body := range []string{"full=true", CSRFHeader + "=" + ts.token} {
		for _, method := range []string{http.MethodPost, http.MethodPut} {
			got := ts.do(t, method, "/rollouts/api/v1/rollouts/ns/web/promote", form, body)
			if got.code != http.StatusForbidden {
				t.Errorf("%s promote from another site's form (%s): %d %s, want 403", method, body, got.code, got.body)
			}
		}
	}
	if len(ts.patches) > 0 {
		t.Fatalf("a cross-site request sent %q", ts.patches)
	}
}

// In a cluster the dashboard listens on the pod's address: it answers
// port-forwards (localhost), the pod's and Service's IP addresses and the
// names given with --allowed-hosts, and no other name.
func TestHostsInACluster(t *testing.T) {
	inCluster := func(allowed ...string) func(*Config) {
		return func(c *Config) { c.LoopbackOnly, c.AllowedHosts = false, allowed }
	}
	for _, tc := range []struct {
		name      string
		configure func(*Config)
		answered  []string
		refused   []string
	}{{
		name:      "--address 0.0.0.0",
		configure: inCluster(),
		answered:  []string{"localhost:3100", "127.0.0.1:3100", "[::1]:3100", "10.244.1.7:3100", "10.96.0.20", "[fd00::7]:3100", "0.0.0.0:3100"},
		refused:   []string{"dash.example.com", "aviary-dashboard.aviary.svc:3100", "evil.example.com:3100", "localhost.evil.example.com"},
	}, {
		name:      "--address 0.0.0.0 --allowed-hosts dash.example.com,*.apps.example.com,aviary-dashboard.aviary.svc",
		configure: inCluster("dash.example.com", "*.apps.example.com", "aviary-dashboard.aviary.svc"),
		answered: []string{"localhost:3100", "10.244.1.7:3100", "dash.example.com", "DASH.Example.com.:443", "x.apps.example.com",
			"a.b.apps.example.com:8080", "aviary-dashboard.aviary.svc:3100"},
		refused: []string{"apps.example.com", "evil.example.com", "dash.example.com.evil.example", "xapps.example.com", "aviary-dashboard"},
	}, {
		name:      "--address 0.0.0.0 --allowed-hosts '*'",
		configure: inCluster("*"),
		answered:  []string{"localhost", "dash.example.com", "anything.example"},
	}, {
		name:      "--address 127.0.0.1 --allowed-hosts dash.example.com",
		configure: func(c *Config) { c.AllowedHosts = []string{"dash.example.com"} },
		answered:  []string{"localhost:3100", "127.0.0.1:3100", "dash.example.com:3100"},
		refused:   []string{"10.0.0.1:3100", "evil.example.com"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			ts := newTestServerWith(t, tc.configure)
			for _, host := range tc.answered {
				if got := ts.get(t, "/rollouts/api/v1/token", map[string]string{"Host": host}); got.code != http.StatusOK {
					t.Errorf("Host %s: %d %s, want 200", host, got.code, got.body)
				}
			}
			for _, host := range tc.refused {
				got := ts.get(t, "/rollouts/api/v1/token", map[string]string{"Host": host})
				if got.code != http.StatusForbidden || !strings.Contains(got.body, "--allowed-hosts") || strings.Contains(got.body, ts.token) {
					t.Errorf("Host %s: %d %s, want 403 naming --allowed-hosts", host, got.code, got.body)
				}
			}
		})
	}
}

// Behind a proxy that sends the pod's address as Host, the page under an
// allowed name may still act; a page of any other origin may not, even
// with --allowed-hosts '*'.
func TestOriginBehindAProxy(t *testing.T) {
	for _, tc := range []struct {
		allowed []string
		origin  string
		code    int
	}{
		{[]string{"dash.example.com"}, "https://dash.example.com", http.StatusOK},
		{[]string{"*.example.com"}, "https://dash.example.com:8443", http.StatusOK},
		{[]string{"dash.example.com"}, "https://evil.example.com", http.StatusForbidden},
		{[]string{"dash.example.com"}, "https://dash.example.com/path", http.StatusForbidden},
		{[]string{"dash.example.com"}, "ftp://dash.example.com", http.StatusForbidden},
		{[]string{"*"}, "https://evil.example.com", http.StatusForbidden},
	} {
		ts := newTestServerWith(t, func(c *Config) { c.LoopbackOnly, c.AllowedHosts = false, tc.allowed }, rollout())
		got := ts.do(t, http.MethodPut, "/rollouts/api/v1/rollouts/ns/web/pause",
			map[string]string{"Host": "10.244.1.7:3100", "Origin": tc.origin, CSRFHeader: ts.token}, "")
		if got.code != tc.code {
			t.Errorf("--allowed-hosts %v, Origin %s: %d %s, want %d", tc.allowed, tc.origin, got.code, got.body, tc.code)
		}
	}
}

func TestCheckAllowedHosts(t *testing.T) {
	for _, good := range []string{"dash.example.com", "*.example.com", "*", "aviary-dashboard", "fd00::1", "[fd00::1]", "10.0.0.1"} {
		if err := CheckAllowedHosts([]string{good}); err != nil {
			t.Errorf("%q refused: %v", good, err)
		}
	}
	for _, bad := range []string{"", "https://dash.example.com", "dash.example.com:3100", "dash.example.com/rollouts", "a*.example.com",
		"*example.com", "*.", "*.*.example.com", "**", "user@dash.example.com"} {
		if err := CheckAllowedHosts([]string{bad}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
