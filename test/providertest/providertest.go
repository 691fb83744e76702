// Package providertest holds the fakes metric provider tests share: a
// fixed clock and HTTP servers that answer, or never do.
package providertest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/metricprovider"
)

// At is the time on Clock.
var At = time.Date(2026, 3, 1, 12, 7, 42, 0, time.UTC)

// Clock always reads At, so tests can check measurement timestamps.
var Clock metricprovider.Clock = func() time.Time { return At }

// Serve starts a server answering every request with status and a JSON
// content type and body, after check (if not nil) has looked at the
// request. The server stops when the test ends.
func Serve(t *testing.T, status int, body string, check func(*http.Request)) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if check != nil {
			check(r)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(s.Close)
	return s
}

// Hang starts a server that never answers: each request waits until the
// client gives up or the test ends.
func Hang(t *testing.T) *httptest.Server {
	t.Helper()
	done := make(chan struct{})
	s := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-done:
		}
	}))
	// Cleanups run last-in first-out: release the handlers, then close.
	t.Cleanup(s.Close)
	t.Cleanup(func() { close(done) })
	return s
}

// ExpectError fails the test unless m is an Error measurement whose message
// is exactly want.
func ExpectError(t *testing.T, m v1alpha1.Measurement, want string) {
	t.Helper()
	if m.Phase != v1alpha1.AnalysisPhaseError || m.Message != want {
		t.Errorf("got %s %q, want Error %q", m.Phase, m.Message, want)
	}
}
