package model

import (
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var (
	flagSeed     = flag.Uint64("model.seed", 0, "run only the sequence of this seed, with its trace")
	flagN        = flag.Int("model.n", 2000, "how many sequences TestModel runs (seeds model.base, model.base+1, …)")
	flagBase     = flag.Uint64("model.base", 1, "the first sequence's seed")
	flagSteps    = flag.Int("model.steps", 8, "actions per sequence")
	flagDuration = flag.Duration("model.duration", 0, "run sequences for this long instead of model.n (make fuzz)")
	flagPending  = flag.Bool("model.pending", true, "tolerate the violations testdata/pending records as known (false: report them like any other)")
	flagSave     = flag.String("model.save", "", "directory to save a shrunk failing sequence in (make fuzz: testdata/regressions); empty: print it only")
)

// seedStream is the random source a sequence is drawn from: the shape,
// then each action in turn.
func seedStream(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x5eed)) }

// runSeed draws and runs sequence seed.
func runSeed(seed uint64, steps int) Outcome {
	gen := seedStream(seed)
	return Run(Case{Seed: seed, Shape: randomShape(gen)}, gen, steps)
}

// TestModel runs random sequences against the real reconciler and checks
// every invariant after every step; a violation is shrunk, printed and
// saved. With -model.seed it runs that one sequence and prints its trace.
func TestModel(t *testing.T) {
	known, err := Load("testdata/pending")
	if err != nil {
		t.Fatal(err)
	}
	if !*flagPending {
		known = nil
	}
	if *flagSeed != 0 {
		out := runSeed(*flagSeed, *flagSteps)
		t.Logf("seed %d: %s\n%s", *flagSeed, out.Case.Shape, strings.Join(out.Trace, "\n"))
		if k := knownCase(known, out.Violation); k != "" {
			t.Logf("known pending (testdata/pending/%s.json): %v", k, out.Violation)
		} else if out.Violation != nil {
			fail(t, out, 1)
		}
		return
	}
	var (
		next, sequences, steps, reconciles, checks, knownHits atomic.Int64
		stop                                                  atomic.Bool
		mu                                                    sync.Mutex
		first                                                 *Outcome
		firstIndex                                            int64
		knownSeen                                             []string
	)
	start := time.Now()
	deadline := time.Time{}
	if *flagDuration > 0 {
		deadline = start.Add(*flagDuration)
	}
	workers := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				i := next.Add(1) - 1
				if deadline.IsZero() && i >= int64(*flagN) || !deadline.IsZero() && time.Now().After(deadline) {
					return
				}
				out := runSeed(*flagBase+uint64(i), *flagSteps)
				sequences.Add(1)
				steps.Add(int64(out.Steps))
				reconciles.Add(int64(out.Reconciles))
				checks.Add(int64(out.Checks))
				if out.Violation == nil {
					continue
				}
				if k := knownCase(known, out.Violation); k != "" {
					knownHits.Add(1)
					mu.Lock()
					if len(knownSeen) < 5 {
						knownSeen = append(knownSeen, fmt.Sprintf("seed %d: %v (known: testdata/pending/%s.json)", out.Case.Seed, out.Violation, k))
					}
					mu.Unlock()
					continue
				}
				mu.Lock()
				if first == nil || i < firstIndex {
					first, firstIndex = &out, i
				}
				mu.Unlock()
				stop.Store(true)
			}
		}()
	}
	wg.Wait()
	violations := knownHits.Load()
	if first != nil {
		violations++
	}
	t.Logf("model: %d sequences, %d steps, %d reconciles, %d invariant checks, %d violations (%d known pending) in %s; seeds %d…, %d actions each, %d workers",
		sequences.Load(), steps.Load(), reconciles.Load(), checks.Load(), violations, knownHits.Load(),
		time.Since(start).Round(time.Second), *flagBase, *flagSteps, workers)
	for _, s := range knownSeen {
		t.Logf("known pending: %s", s)
	}
	if first != nil {
		fail(t, *first, firstIndex+1)
	}
}

// knownCase names the pending case recording v's kind of violation, if
// any: the same invariant broken the same way (Violation.Kind).
func knownCase(known []Case, v *Violation) string {
	if v == nil {
		return ""
	}
	for _, k := range known {
		if k.Violation != nil && k.Violation.Same(v) {
			return k.Name
		}
	}
	return ""
}

// fail shrinks a failing outcome, prints it and saves it.
func fail(t *testing.T, out Outcome, sequencesRun int64) {
	t.Helper()
	t.Logf("seed %d failed after %d sequences: %v", out.Case.Seed, sequencesRun, out.Violation)
	small, v, runs := Shrink(out.Case, out.Violation)
	small.Violation = v
	t.Logf("shrunk from %d to %d actions in %d replays:\n%s", len(out.Case.Actions), len(small.Actions), runs, Report(small, v))
	// Only an explicit -model.save writes into the tree (make fuzz does):
	// a plain go test, run by anyone, prints the case instead.
	if *flagSave != "" {
		path, err := Save(*flagSave, small)
		if err != nil {
			t.Errorf("save: %v", err)
		} else {
			t.Logf("saved %s (replayed by TestRegressions; reproduce with -model.seed=%d -model.steps=%d)", path, out.Case.Seed, len(out.Case.Actions))
		}
	} else if data, err := json.MarshalIndent(small, "", "  "); err == nil {
		t.Logf("reproduce with -model.seed=%d -model.steps=%d; as a regression file (testdata/regressions/<name>.json):\n%s", out.Case.Seed, len(out.Case.Actions), data)
	}
	t.Fail()
}

// TestRegressions replays every sequence in testdata/regressions: each
// once broke an invariant and must not any more.
func TestRegressions(t *testing.T) {
	cases, err := Load("testdata/regressions")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			if out := Run(c, nil, 0); out.Violation != nil {
				t.Errorf("%s", Report(c, out.Violation))
			}
		})
	}
}

// TestPending replays testdata/pending: sequences that break an invariant
// in the product as it stands, reported and awaiting a fix. Each must
// still fail the way it was recorded; once one passes, it is fixed and
// belongs in testdata/regressions.
func TestPending(t *testing.T) {
	cases, err := Load("testdata/pending")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			out := Run(c, nil, 0)
			if !out.Violation.Same(c.Violation) {
				t.Errorf("no longer fails as recorded (%v; got %v): fixed? move testdata/pending/%s.json to testdata/regressions/", c.Violation, out.Violation, c.Name)
			}
		})
	}
}
