package model

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// Shrink reduces a failing case to a small one failing the same invariant:
// delta debugging over the actions (drop chunks, then single actions),
// then simpler Rollout shapes and action values, repeated until nothing
// more can go. runs counts the replays it took.
func Shrink(c Case, v *Violation) (small Case, got *Violation, runs int) {
	start := time.Now()
	fails := func(cand Case) *Violation {
		if runs >= shrinkReplays || time.Since(start) > shrinkTime {
			return nil // out of budget: keep what we have
		}
		runs++
		out := Run(cand, nil, 0)
		if out.Violation != nil && out.Violation.Same(v) {
			return out.Violation
		}
		return nil
	}
	small, got = c, v
	for changed := true; changed; {
		changed = false
		if acts, w := ddmin(small, fails); len(acts) < len(small.Actions) {
			small.Actions, got, changed = acts, w, true
		}
		for _, cand := range simpler(small) {
			if sameCase(cand, small) {
				continue // not simpler: it would "still fail" for ever
			}
			if w := fails(cand); w != nil {
				small, got, changed = cand, w, true
				break
			}
		}
	}
	return small, got, runs
}

// Shrinking's budget: a case that fails slowly (a controller that keeps
// writing makes every round run to its bounds) must not hold a fuzzing
// run for long; the best case found so far is reported.
const (
	shrinkReplays = 1500
	shrinkTime    = 3 * time.Minute
)

// ddmin is delta debugging's minimisation of the action list: try
// dropping each of n chunks (n doubling up to single actions), keeping
// any drop that still fails.
func ddmin(c Case, fails func(Case) *Violation) ([]Action, *Violation) {
	acts := c.Actions
	var last *Violation
	for n := 2; len(acts) >= 1; {
		chunk := (len(acts) + n - 1) / n
		dropped := false
		for start := 0; start < len(acts); start += chunk {
			end := min(start+chunk, len(acts))
			cand := c
			cand.Actions = append(append([]Action{}, acts[:start]...), acts[end:]...)
			if w := fails(cand); w != nil {
				acts, last, dropped = cand.Actions, w, true
				n = max(n-1, 2)
				break
			}
		}
		if dropped {
			continue
		}
		if chunk == 1 {
			break
		}
		n = min(n*2, len(acts))
	}
	return acts, last
}

// simpler lists one-change simplifications of c, most drastic first.
func simpler(c Case) []Case {
	var out []Case
	with := func(f func(*Case)) {
		cand := c
		cand.Shape = c.Shape
		cand.Shape.Steps = append([]v1alpha1.CanaryStep(nil), c.Shape.Steps...)
		cand.Actions = append([]Action(nil), c.Actions...)
		f(&cand)
		out = append(out, cand)
	}
	s := c.Shape
	for i := range s.Steps {
		if len(s.Steps) > 1 {
			with(func(c *Case) { c.Shape.Steps = append(c.Shape.Steps[:i:i], c.Shape.Steps[i+1:]...) })
		}
	}
	for n := int32(1); n < s.Replicas; n++ {
		with(func(c *Case) { c.Shape.Replicas = n })
	}
	flags := []struct {
		set bool
		f   func(*Shape)
	}{
		{s.MinReadySeconds != 0, func(s *Shape) { s.MinReadySeconds = 0 }},
		{s.MaxSurge != nil, func(s *Shape) { s.MaxSurge = nil }},
		{s.MaxUnavailable != nil, func(s *Shape) { s.MaxUnavailable = nil }},
		{s.Background, func(s *Shape) { s.Background, s.StartingStep = false, nil }},
		{s.StartingStep != nil, func(s *Shape) { s.StartingStep = nil }},
		{s.Services, func(s *Shape) { s.Services = false }},
		{s.Routed, func(s *Shape) { s.Routed, s.ScaleDownDelaySeconds, s.AbortScaleDownDelaySeconds = false, nil, nil }},
		{s.Strategy == Canary && s.ScaleDownDelaySeconds != nil, func(s *Shape) { s.ScaleDownDelaySeconds = nil }},
		{s.AbortScaleDownDelaySeconds != nil, func(s *Shape) { s.AbortScaleDownDelaySeconds = nil }},
		{s.Strategy == BlueGreen && s.ScaleDownDelaySeconds != nil, func(s *Shape) { s.ScaleDownDelaySeconds = nil }},
		{s.AutoPromotionSeconds != 0, func(s *Shape) { s.AutoPromotionSeconds = 0 }},
		{s.PreviewReplicaCount != nil, func(s *Shape) { s.PreviewReplicaCount = nil }},
		{s.PreviewService, func(s *Shape) { s.PreviewService = false }},
		{s.PrePromotion, func(s *Shape) { s.PrePromotion = false }},
		{s.PostPromotion, func(s *Shape) { s.PostPromotion = false }},
		{s.ProgressDeadlineSeconds != nil, func(s *Shape) { s.ProgressDeadlineSeconds, s.ProgressDeadlineAbort = nil, false }},
		{s.ProgressDeadlineAbort, func(s *Shape) { s.ProgressDeadlineAbort = false }},
		{s.RevisionHistoryLimit != nil, func(s *Shape) { s.RevisionHistoryLimit = nil }},
	}
	for _, fl := range flags {
		if fl.set {
			with(func(c *Case) { fl.f(&c.Shape) })
		}
	}
	for i, a := range c.Actions {
		switch {
		case a.Kind == Wait && a.Seconds > 1:
			with(func(c *Case) { c.Actions[i].Seconds = a.Seconds / 2 })
		case a.Kind == ControllerRestart && (a.Back > 1 || a.Stale > 1):
			with(func(c *Case) { c.Actions[i].Back, c.Actions[i].Stale = 1, 1 })
		case a.Kind == EditSteps && len(a.Steps) > 1:
			with(func(c *Case) { c.Actions[i].Steps = a.Steps[:len(a.Steps)-1] })
		case a.Kind == Analysis && (a.Phase == string(v1alpha1.AnalysisPhaseInconclusive) || a.Phase == string(v1alpha1.AnalysisPhaseError)):
			with(func(c *Case) { c.Actions[i].Phase = string(v1alpha1.AnalysisPhaseFailed) })
		}
	}
	return out
}

// sameCase reports two cases that would replay identically.
func sameCase(a, b Case) bool {
	ja, errA := json.Marshal(Case{Seed: a.Seed, Shape: a.Shape, Actions: a.Actions})
	jb, errB := json.Marshal(Case{Seed: b.Seed, Shape: b.Shape, Actions: b.Actions})
	return errA == nil && errB == nil && string(ja) == string(jb)
}

// Report is a failing case as a person reads it: the Rollout, the numbered
// actions, what the replay shows after each, and the violation.
func Report(c Case, v *Violation) string {
	var b strings.Builder
	fmt.Fprintf(&b, "violation: %s\n", v)
	fmt.Fprintf(&b, "seed %d; rollout: %s\n", c.Seed, c.Shape)
	out := Run(c, nil, 0)
	fmt.Fprintf(&b, "replay (%d actions):\n", len(c.Actions))
	for _, line := range out.Trace {
		fmt.Fprintf(&b, "  %s\n", line)
	}
	if out.Violation == nil {
		b.WriteString("  (the replay passed: the failure depends on map order in the product, see docs/fuzzing.md)\n")
	}
	return b.String()
}

// Save writes c as JSON into dir, named after the invariant and a hash of
// the case, and returns the path.
func Save(dir string, c Case) (string, error) {
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(data)
	if c.Name == "" {
		inv := "case"
		if c.Violation != nil {
			inv = strings.ToLower(c.Violation.Invariant)
		}
		c.Name = inv + "-" + hex.EncodeToString(sum[:4])
		if data, err = json.MarshalIndent(c, "", "  "); err != nil {
			return "", err
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	path := filepath.Join(dir, c.Name+".json")
	return path, os.WriteFile(path, append(data, '\n'), 0o644)
}

// Load reads the cases saved in dir.
func Load(dir string) ([]Case, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	var out []Case
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		var c Case
		if err := json.Unmarshal(data, &c); err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		if c.Name == "" {
			c.Name = strings.TrimSuffix(filepath.Base(p), ".json")
		}
		out = append(out, c)
	}
	return out, nil
}
