package cli

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

// TestRedrawLoopThrottles: a burst of changes redraws at most once per
// throttle interval (plus the first draw), and the last change is drawn.
func TestRedrawLoopThrottles(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	changed := make(chan struct{}, 1)
	var draws atomic.Int32
	var lastDraw atomic.Int64
	done := make(chan struct{})
	go func() {
		redrawLoop(ctx, changed, func() { draws.Add(1); lastDraw.Store(time.Now().UnixNano()) })
		close(done)
	}()
	start := time.Now()
	var lastChange time.Time
	for time.Since(start) < 500*time.Millisecond {
		select {
		case changed <- struct{}{}:
			lastChange = time.Now()
		default:
		}
		time.Sleep(5 * time.Millisecond)
	}
	burst := draws.Load()
	// 500ms of changes allow the first draw and one per 200ms after it.
	if burst < 2 || burst > 4 {
		t.Errorf("%d draws during a 500ms burst of changes; want 2 to 4", burst)
	}
	time.Sleep(300 * time.Millisecond)
	if time.Unix(0, lastDraw.Load()).Before(lastChange) {
		t.Errorf("the burst's last change was not drawn")
	}
	cancel()
	select {
	case <-done:
	case <-time.After(time.Second):
		t.Fatal("redrawLoop did not stop with its context")
	}
}
