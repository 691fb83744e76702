package framework

import (
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// SlackMessage is one chat.postMessage call a Slack stand-in accepted.
type SlackMessage struct {
	Token, Channel, Text, Attachments string
}

// Slack is a local server speaking the part of Slack's Web API the
// notifications engine's Slack service uses to post (chat.postMessage,
// form-encoded, answered with {"ok": true, "channel", "ts"}); point a
// service's apiURL at APIURL.
type Slack struct {
	// APIURL ends in /api/, as Slack's https://slack.com/api/ does.
	APIURL string

	mu       sync.Mutex
	messages []SlackMessage
}

// StartSlack starts a Slack stand-in until the test ends.
func StartSlack(t testing.TB) *Slack {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Slack{APIURL: "http://" + l.Addr().String() + "/api/"}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/chat.postMessage", s.postMessage)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return s
}

func (s *Slack) postMessage(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	token := r.PostForm.Get("token")
	if auth := r.Header.Get("Authorization"); strings.HasPrefix(auth, "Bearer ") {
		token = strings.TrimPrefix(auth, "Bearer ")
	}
	w.Header().Set("Content-Type", "application/json")
	if token == "" {
		// Slack answers 200 with ok false.
		_ = json.NewEncoder(w).Encode(map[string]any{"ok": false, "error": "not_authed"})
		return
	}
	m := SlackMessage{Token: token, Channel: r.PostForm.Get("channel"), Text: r.PostForm.Get("text"), Attachments: r.PostForm.Get("attachments")}
	s.mu.Lock()
	s.messages = append(s.messages, m)
	s.mu.Unlock()
	_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "channel": "C0" + strings.ToUpper(m.Channel), "ts": "1700000000.000100"})
}

// Messages are the messages accepted so far.
func (s *Slack) Messages() []SlackMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]SlackMessage(nil), s.messages...)
}
