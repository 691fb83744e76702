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
	s.stream(w, r, &listFeed{ns: r.PathValue("ns")})
}

func (s *Server) watchDetail(w http.ResponseWriter, r *http.Request) {
	ns, name := r.PathValue("ns"), r.PathValue("name")
	s.stream(w, r, &wholeFeed{build: func(ctx context.Context, c client.Reader) (any, error) { return buildDetail(ctx, c, ns, name) }})
}

// A feed makes the events of one stream from the namespace's cache, each
// time something in it changed: the event to send now, or "" when the page
// already has what it would say. An error ends the stream.
type feed interface {
	next(ctx context.Context, c client.Reader) (event string, data []byte, err error)
}

// wholeFeed sends what build makes as a "message" event whenever its JSON
// differs from the last one sent, and an "error" event (JSON {"error": …})
// while build fails, e.g. while the rollout does not exist.
type wholeFeed struct {
	build func(context.Context, client.Reader) (any, error)
	// last is the event name, a newline and the data last sent.
	last []byte
}

func (f *wholeFeed) next(ctx context.Context, c client.Reader) (string, []byte, error) {
	event, data := "message", []byte(nil)
	v, err := f.build(ctx, c)
	if err != nil {
		event, data = eventError, errorData(err)
	} else if data, err = json.Marshal(v); err != nil {
		return "", nil, err
	}
	sent := append([]byte(event+"\n"), data...)
	if bytes.Equal(sent, f.last) {
		return "", nil, nil
	}
	f.last = sent
	return event, data, nil
}

// errorData is the data of an "error" event.
func errorData(err error) []byte {
	data, _ := json.Marshal(errorBody{Error: err.Error()})
	return data
}

// stream sends the events of f as Server-Sent Events: the first at once,
// then after every change. It ends when the page goes away.
func (s *Server) stream(w http.ResponseWriter, r *http.Request, f feed) {
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

	send := func() error {
		event, data, err := f.next(ctx, c)
		if err != nil || event == "" {
			return err
		}
		// JSON has no raw newline, so the data is one line.
		if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, data); err != nil {
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
