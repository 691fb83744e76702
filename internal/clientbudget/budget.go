// Package clientbudget is the one request budget (--qps, --burst) every
// client of the controller draws from: a token bucket shared by all of them,
// so the flags bound what the process sends in total, not per REST client.
// When requests queue for tokens, they are served by priority: leader
// election first (a starved Lease renewal costs leadership), then the
// controllers' reads and writes and their decision events, then
// informational Events — which still get a share, so their queue drains
// while the rest is busy.
package clientbudget

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"k8s.io/utils/clock"
)

// Priority is a class of requests; a lower value is served first.
type Priority int

const (
	// LeaderElection is the Lease's reads and renewals.
	LeaderElection Priority = iota
	// Work is everything the controllers need to make and carry out
	// decisions: reads, object and status writes, journaled decision events.
	Work
	// Event is informational Events (the queued recorder).
	Event

	priorities = iota
)

// String names p as the metrics label it carries.
func (p Priority) String() string {
	switch p {
	case LeaderElection:
		return "leader-election"
	case Work:
		return "work"
	case Event:
		return "event"
	}
	return fmt.Sprintf("priority-%d", int(p))
}

// EventShare is how many requests of higher priority are served, while an
// Event waits, before one Event is: under a sustained backlog Events get at
// least 1/(EventShare+1) of the budget, so the recorder's bounded queue keeps
// draining instead of overflowing (client-go drops what does not fit).
const EventShare = 4

// Budget is a token bucket: it holds at most burst tokens, gains qps tokens a
// second, and each request takes one. Over any interval of length T it
// grants at most burst + qps·T requests. The zero value is not usable; a nil
// *Budget grants everything at once (no limit).
type Budget struct {
	qps   float64
	burst float64
	clock clock.Clock

	mu     sync.Mutex
	tokens float64
	last   time.Time
	queues [priorities][]*waiter
	// passed counts grants to higher classes while an Event waited.
	passed int
}

type waiter struct {
	prio    Priority
	granted bool
	ready   chan struct{} // closed when granted
	kick    chan struct{} // the waiter is next: keep time for the next token
}

// New returns a budget of qps requests a second with bursts of up to burst,
// full at the start. qps and burst must be positive.
func New(qps float64, burst int, clk clock.Clock) *Budget {
	if clk == nil {
		clk = clock.RealClock{}
	}
	return &Budget{qps: qps, burst: float64(burst), clock: clk, tokens: float64(burst), last: clk.Now()}
}

// QPS and Burst are the budget's parameters.
func (b *Budget) QPS() float64 { return b.qps }
func (b *Budget) Burst() int   { return int(b.burst) }

// Wait blocks until a request of priority p may be sent, or ctx ends (then it
// returns ctx's error and takes no token).
func (b *Budget) Wait(ctx context.Context, p Priority) error {
	if b == nil {
		return nil
	}
	if p < 0 || p >= priorities {
		p = Work
	}
	start := b.clock.Now()
	b.mu.Lock()
	b.refill()
	if b.waiting() == 0 && b.tokens >= 1-epsilon {
		b.tokens--
		b.mu.Unlock()
		observe(p, 0)
		return nil
	}
	w := &waiter{prio: p, ready: make(chan struct{}), kick: make(chan struct{}, 1)}
	b.queues[p] = append(b.queues[p], w)
	queued(p, 1)
	b.dispatch()
	b.mu.Unlock()

	var timer clock.Timer
	var fire <-chan time.Time
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		select {
		case <-w.ready:
			observe(p, b.clock.Since(start))
			return nil
		case <-ctx.Done():
			b.mu.Lock()
			if w.granted {
				b.mu.Unlock()
				observe(p, b.clock.Since(start))
				return nil
			}
			b.remove(w)
			b.dispatch()
			b.mu.Unlock()
			return fmt.Errorf("wait for the client budget (--qps %g, --burst %d): %w", b.qps, int(b.burst), ctx.Err())
		case <-w.kick:
			// Next in line: sleep until the bucket holds a token.
			b.mu.Lock()
			d := b.untilToken()
			b.mu.Unlock()
			if timer != nil {
				timer.Stop()
			}
			timer = b.clock.NewTimer(d)
			fire = timer.C()
		case <-fire:
			fire = nil
			b.mu.Lock()
			b.dispatch()
			b.mu.Unlock()
		}
	}
}

// epsilon absorbs float rounding when a timer fires exactly when a token is due.
const epsilon = 1e-9

// refill adds the tokens earned since the last refill, up to burst.
func (b *Budget) refill() {
	now := b.clock.Now()
	if el := now.Sub(b.last); el > 0 {
		b.tokens = min(b.burst, b.tokens+el.Seconds()*b.qps)
	}
	b.last = now
}

// untilToken is how long until the bucket holds one token.
func (b *Budget) untilToken() time.Duration {
	b.refill()
	missing := 1 - b.tokens
	if missing <= epsilon {
		return 0
	}
	// Rounded up, so the timer never fires a hair before the token is due.
	return time.Duration(math.Ceil(missing / b.qps * float64(time.Second)))
}

func (b *Budget) waiting() int {
	n := 0
	for _, q := range b.queues {
		n += len(q)
	}
	return n
}

// next is the waiter to serve next: the oldest of the highest priority
// waiting, unless an Event has been passed over EventShare times.
func (b *Budget) next() *waiter {
	if len(b.queues[Event]) > 0 && b.passed >= EventShare {
		return b.queues[Event][0]
	}
	for _, q := range b.queues {
		if len(q) > 0 {
			return q[0]
		}
	}
	return nil
}

// dispatch grants the tokens there are to waiters in order, then tells the
// next waiter, if any, to keep time for the token it waits for.
func (b *Budget) dispatch() {
	b.refill()
	for {
		w := b.next()
		if w == nil {
			b.passed = 0
			return
		}
		if b.tokens < 1-epsilon {
			select {
			case w.kick <- struct{}{}:
			default:
			}
			return
		}
		b.tokens--
		if w.prio == Event {
			b.passed = 0
		} else if len(b.queues[Event]) > 0 {
			b.passed++
		}
		b.remove(w)
		w.granted = true
		close(w.ready)
	}
}

func (b *Budget) remove(w *waiter) {
	q := b.queues[w.prio]
	for i, x := range q {
		if x == w {
			b.queues[w.prio] = append(q[:i:i], q[i+1:]...)
			queued(w.prio, -1)
			return
		}
	}
}
