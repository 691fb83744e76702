package freeport

import (
	"net"
	"strconv"
	"testing"
)

func TestLoopbackGivesDistinctListenablePortsBelowTheEphemeralRange(t *testing.T) {
	seen := map[string]bool{}
	for range 50 {
		addr, err := Loopback()
		if err != nil {
			t.Fatal(err)
		}
		if seen[addr] {
			t.Fatalf("%s handed out twice", addr)
		}
		seen[addr] = true
		_, p, _ := net.SplitHostPort(addr)
		port, _ := strconv.Atoi(p)
		if port < lowest || port >= highest {
			t.Fatalf("port %d outside [%d, %d)", port, lowest, highest)
		}
		l, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatalf("listen on handed-out %s: %v", addr, err)
		}
		l.Close()
	}
}

func TestPickSkipsBusyAndHandedPorts(t *testing.T) {
	// A three-port window: one held busy, two free; after the two free ones
	// are handed out the window is exhausted.
	mu.Lock()
	handed = map[int]bool{} // -count=N reruns in one process
	mu.Unlock()
	lo := 0
	var busy net.Listener
	for p := 33000 - 3; p > lowest && busy == nil; p -= 3 {
		if !free(p+1) || !free(p+2) {
			continue
		}
		if l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p))); err == nil {
			lo, busy = p, l
		}
	}
	if busy == nil {
		t.Fatal("no port to hold busy")
	}
	defer busy.Close()
	got := map[string]bool{}
	for range 2 {
		addr, err := pick(lo, lo+3)
		if err != nil {
			t.Fatalf("pick from [%d, %d) with one port busy: %v", lo, lo+3, err)
		}
		if addr == busy.Addr().String() {
			t.Fatalf("offered busy %s", addr)
		}
		got[addr] = true
	}
	if len(got) != 2 {
		t.Fatalf("handed the same port twice: %v", got)
	}
	if addr, err := pick(lo, lo+3); err == nil {
		t.Fatalf("window exhausted, yet offered %s", addr)
	}
}

func free(port int) bool {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return false
	}
	l.Close()
	return true
}
