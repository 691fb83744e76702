package dashboard

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestLogRequestsLogsActionsAndFailures(t *testing.T) {
	clock := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	now := func() time.Time { clock = clock.Add(20 * time.Millisecond); return clock }
	answer := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/missing":
			http.NotFound(w, r)
		case "/stream":
			w.(http.Flusher).Flush() // the event streams need Flush through the recorder
		default:
			_, _ = w.Write([]byte("{}"))
		}
	})
	for _, tc := range []struct {
		method, path, want string
	}{
		{http.MethodGet, "/ok", ""},
		{http.MethodGet, "/stream", ""},
		{http.MethodPut, "/rollouts/api/v1/rollouts/ns/r/promote", "03:04:05 PUT /rollouts/api/v1/rollouts/ns/r/promote → 200 OK in 20ms\n"},
		{http.MethodGet, "/missing", "03:04:05 GET /missing → 404 Not Found in 20ms\n"},
	} {
		var out strings.Builder
		clock = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		logRequests(&out, now, answer).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(tc.method, tc.path, nil))
		if out.String() != tc.want {
			t.Errorf("%s %s logged %q, want %q", tc.method, tc.path, out.String(), tc.want)
		}
	}
}
