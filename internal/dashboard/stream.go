package dashboard

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"
)

const (
	// settle lets a burst of changes (a reconcile writes several objects)
	// become one event, well inside the second the page has to update.
	settle = 100 * time.Millisecond
	// keepAlive is a comment line that keeps proxies from closing an idle
	// stream and tells the server early that the page went away.
	keepAlive = 15 * time.Second
)

func (s *Server) watchList(w http.ResponseWriter, r *http.Request) {
	ns := r.PathValue("ns")
	s.stream(w, r, func(ctx context.Context, c client.Reader) (any, error) { return buildList(ctx, c, ns) })
}

func (s *Server) watchDetail(w http.ResponseWriter, r *http.Request) {
	ns, name := r.PathValue("ns"), r.PathValue("name")
	s.stream(w, r, func(ctx context.Context, c client.Reader) (any, error) { return buildDetail(ctx, c, ns, name) })
}

// stream sends what build makes as Server-Sent Events: a "message"
// event with the JSON whenever it differs from the last one sent, and an
// "error" event (JSON {"error": …}) while build fails, e.g. while the
// rollout does not exist. It ends when the page goes away.
func (s *Server) stream(w http.ResponseWriter, r *http.Request, build func(context.Context, client.Reader) (any, error)) {
	flusher, ok := w.(http.Flusher)
	if !ok {
		writeError(w, http.StatusInternalServerError, fmt.Errorf("streaming is not supported by this connection"))
		return
	}
	ctx := r.Context()
	c, changed, release, err := s.hub.acquire(ctx, r.PathValue("ns"), true)
	if err != nil {
		writeError(w, statusOf(err), err)
		return
	}
	defer release()
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	flusher.Flush()

	var last []byte
	send := func() error {
		event, body := "message", []byte(nil)
		v, err := build(ctx, c)
		if err != nil {
			event = "error"
			body, _ = json.Marshal(errorBody{Error: err.Error()})
		} else if body, err = json.Marshal(v); err != nil {
			return err
		}
		body = append([]byte(event+"\n"), body...)
		if bytes.Equal(body, last) {
			return nil
		}
		last = body
		if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, body[len(event)+1:]); err != nil {
			return err
		}
		flusher.Flush()
		return nil
	}
	if err := send(); err != nil {
		return
	}
	ping := time.NewTicker(keepAlive)
	defer ping.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ping.C:
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil {
				return
			}
			flusher.Flush()
		case <-changed:
			select {
			case <-ctx.Done():
				return
			case <-time.After(settle):
			}
			// Changes during the wait are covered by this read.
			select {
			case <-changed:
			default:
			}
			if err := send(); err != nil {
				return
			}
		}
	}
}
