package dashboard

import (
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// logRequests writes a line to out for every action (any method but GET
// and HEAD) and every failed request, once it is answered: what was done
// through the dashboard, and why a click did nothing, are then on the
// terminal that started it. Reads that succeed (the page polls nothing,
// but streams and assets are many) are not logged.
func logRequests(out io.Writer, now func() time.Time, next http.Handler) http.Handler {
	var mu sync.Mutex // one line at a time from concurrent requests
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := now()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		code := rec.code
		if code == 0 {
			code = http.StatusOK
		}
		if (r.Method == http.MethodGet || r.Method == http.MethodHead) && code < 400 {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		_, _ = fmt.Fprintf(out, "%s %s %s → %d %s in %s\n", start.Format(time.TimeOnly), r.Method, r.URL.Path, code, http.StatusText(code), now().Sub(start).Round(time.Millisecond))
	})
}

// statusRecorder notes the status code written through it. Flush and
// Unwrap keep the event streams working through it.
type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.code == 0 {
		s.code = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.code == 0 {
		s.code = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }
