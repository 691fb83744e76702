package clientbudget

import (
	"context"
	"net/http"

	"k8s.io/client-go/rest"

	"github.com/aviary-rollouts/aviary/internal/clientmetrics"
)

// Instrument makes every client built from cfg draw from b and turns off
// client-go's own token bucket, which it would otherwise build per REST
// client (controller-runtime makes one per resource type). With b nil, no
// client of cfg is limited at all.
func (b *Budget) Instrument(cfg *rest.Config) {
	cfg.RateLimiter = nil
	cfg.QPS = -1 // client-go: negative means no per-client limit
	if b == nil {
		return
	}
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper { return &limited{budget: b, next: rt} })
}

type limited struct {
	budget *Budget
	next   http.RoundTripper
}

func (l *limited) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := l.budget.Wait(req.Context(), Of(req)); err != nil {
		return nil, err
	}
	return l.next.RoundTrip(req)
}

type priorityKey struct{}

// WithPriority marks the requests made with ctx as of priority p, whatever
// their path: the event journal's decision events are Work, not Event.
func WithPriority(ctx context.Context, p Priority) context.Context {
	return context.WithValue(ctx, priorityKey{}, p)
}

// Of is a request's priority: as its context says, else LeaderElection for
// Leases, Event for writes of Events, Work for the rest.
func Of(req *http.Request) Priority {
	if p, ok := req.Context().Value(priorityKey{}).(Priority); ok {
		return p
	}
	verb, resource := clientmetrics.Classify(req.Method, req.URL)
	switch {
	case resource == "leases":
		return LeaderElection
	case resource == "events" && (verb == "create" || verb == "update" || verb == "patch"):
		return Event
	}
	return Work
}
