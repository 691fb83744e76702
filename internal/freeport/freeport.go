// Package freeport picks loopback TCP ports for processes that a test or the
// demo starts and must be told their address in advance.
//
// Asking the kernel for port 0 and closing the listener is racy: the port is
// drawn from the ephemeral range, which the kernel also hands to every
// outgoing connection and every other ":0" listener on the machine, so a
// client socket in another test package can take it before our process
// binds it. Ports here come from below the ephemeral range instead, chosen
// at random so that parallel test processes rarely meet, and checked free.
package freeport

import (
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
)

// The range lies under Linux's default ephemeral range (32768–60999) and
// above the ports well-known services tend to use.
const (
	lowest  = 20000
	highest = 32000
)

var (
	mu     sync.Mutex
	handed = map[int]bool{}
)

// Loopback returns "127.0.0.1:<port>" with a port that could be listened on
// at the time of the call and that this process has not returned before.
func Loopback() (string, error) { return pick(lowest, highest) }

// pick draws from [lo, hi).
func pick(lo, hi int) (string, error) {
	mu.Lock()
	defer mu.Unlock()
	for range 200 {
		port := lo + rand.IntN(hi-lo)
		if handed[port] {
			continue
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		l, err := net.Listen("tcp", addr)
		if err != nil {
			continue
		}
		l.Close()
		handed[port] = true
		return addr, nil
	}
	return "", fmt.Errorf("find a free loopback port between %d and %d: none of 200 tries could be listened on", lo, hi)
}
