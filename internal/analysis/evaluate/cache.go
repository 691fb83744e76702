package evaluate

import (
	"sync"

	"github.com/expr-lang/expr/vm"
)

// cache holds compiled programs by expression text. Every running metric is
// evaluated at each measurement, and compiling costs far more than running,
// so programs are compiled once. Compile errors are kept too: a broken
// condition is retried every few seconds until the run gives up.
//
// Expressions come from AnalysisRun specs, but with arguments substituted
// into them, so the cache is capped; past the cap an arbitrary entry goes.
type cache struct {
	compile func(string) (*vm.Program, error)
	limit   int

	mu      sync.RWMutex
	entries map[string]compiled
}

type compiled struct {
	program *vm.Program
	err     error
}

func newCache(limit int, compile func(string) (*vm.Program, error)) *cache {
	return &cache{compile: compile, limit: limit, entries: map[string]compiled{}}
}

// get returns the program for expression, compiling it on first use. A
// *vm.Program is immutable, so one may run in many goroutines at once.
func (c *cache) get(expression string) (*vm.Program, error) {
	c.mu.RLock()
	e, ok := c.entries[expression]
	c.mu.RUnlock()
	if ok {
		return e.program, e.err
	}
	// Compile outside the lock; two goroutines may both compile the same new
	// expression, which is harmless.
	program, err := c.compile(expression)
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.limit {
		for k := range c.entries {
			delete(c.entries, k)
			break
		}
	}
	c.entries[expression] = compiled{program: program, err: err}
	return program, err
}

// size is the number of cached expressions.
func (c *cache) size() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.entries)
}
