package wave

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"
)

// SampleInterval is how often the harness reads the controller's request
// counter during a wave. A peak is read off these samples, so it can miss
// up to one interval's worth of requests at each end of a window.
const SampleInterval = 200 * time.Millisecond

// Sample is the controller's request counter, all verbs and resources
// summed, read At a time since the wave began.
type Sample struct {
	At       time.Duration
	Requests float64
}

// Rate is the controller's request rate over a wave, in requests per
// second: the mean over the whole wave, and the highest count seen in any
// window of 1 s and of 2 s, divided by the window.
type Rate struct {
	Mean, Peak1s, Peak2s float64
}

// Rates computes the Rate of samples, which are in time order and begin
// with the wave's baseline.
func Rates(samples []Sample) Rate {
	if len(samples) < 2 {
		return Rate{}
	}
	first, last := samples[0], samples[len(samples)-1]
	var r Rate
	if span := (last.At - first.At).Seconds(); span > 0 {
		r.Mean = (last.Requests - first.Requests) / span
	}
	r.Peak1s = PeakRate(samples, time.Second)
	r.Peak2s = PeakRate(samples, 2*time.Second)
	return r
}

// PeakRate is the most requests counted between two samples at most
// window apart, divided by window: the peak rate over any window of that
// length that the samples can see. A wave shorter than window counts as
// one window.
func PeakRate(samples []Sample, window time.Duration) float64 {
	var most float64
	j := 0
	for i := range samples {
		j = max(j, i)
		// Move j to the last sample within window of sample i.
		for j+1 < len(samples) && samples[j+1].At-samples[i].At <= window {
			j++
		}
		most = max(most, samples[j].Requests-samples[i].Requests)
	}
	return most / window.Seconds()
}

// sampler reads a counter every SampleInterval from a start until stopped.
type sampler struct {
	mu      sync.Mutex
	samples []Sample
	stop    context.CancelFunc
	done    sync.WaitGroup
}

// startSampler records base as the sample at start, then read's total
// every SampleInterval. A failed read is skipped: the next one covers it.
func startSampler(start time.Time, base float64, read func() (float64, error)) *sampler {
	ctx, stop := context.WithCancel(context.Background())
	s := &sampler{samples: []Sample{{At: 0, Requests: base}}, stop: stop}
	s.done.Go(func() {
		t := time.NewTicker(SampleInterval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if v, err := read(); err == nil {
					s.add(Sample{At: time.Since(start), Requests: v})
				}
			}
		}
	})
	return s
}

func (s *sampler) add(x Sample) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.samples = append(s.samples, x)
}

// upTo is the samples so far ending with last, the reading that ends a
// measurement.
func (s *sampler) upTo(last Sample) []Sample {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Sample, 0, len(s.samples)+1)
	for _, x := range s.samples {
		if x.At < last.At {
			out = append(out, x)
		}
	}
	return append(out, last)
}

func (s *sampler) end() {
	s.stop()
	s.done.Wait()
}

// PrintRate prints the request rate of the wave next to the budget the
// controller was given: over any T seconds it may send burst + qps·T.
func (f Figures) PrintRate(w io.Writer, span string) {
	budget := "no client budget (--qps < 0)"
	if f.QPS > 0 {
		budget = fmt.Sprintf("budget --qps %g --burst %d: ≤ %.0f in 1 s, ≤ %.0f/s over 2 s",
			f.QPS, f.Burst, float64(f.Burst)+f.QPS, (float64(f.Burst)+2*f.QPS)/2)
	}
	Line(w, "request rate, "+span+", mean", "%8.1f /s  (%s)", f.Rate.Mean, budget)
	Line(w, "request rate, peak over 1 s", "%8.1f /s", f.Rate.Peak1s)
	Line(w, "request rate, peak over 2 s", "%8.1f /s  (sampled every %s)", f.Rate.Peak2s, SampleInterval)
}
