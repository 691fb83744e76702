package judge

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
)

// PluginKey is the provider.plugin entry that selects the built-in judge.
// It is here, with the value the judge writes, so that what reads runs
// (kubectl argo rollouts get, the dashboard) recognises a judged metric
// without linking the provider and its Prometheus client.
const PluginKey = "aviary-rollouts/judge"

// SummaryQuantiles are the quantiles of each side's samples a Summary
// lists: the minimum, the 10th, 25th, 50th, 75th and 90th percentiles and
// the maximum, enough to draw the two distributions side by side.
var SummaryQuantiles = []float64{0, 0.1, 0.25, 0.5, 0.75, 0.9, 1}

// Value is a judge measurement's value: the judgement with, for each
// verdict in order, a summary of the samples compared. The provider may
// leave out the summaries, then passing verdicts, to fit the measurement.
type Value struct {
	Judgement
	Samples []Summary `json:"samples,omitempty"`
}

// Summary is one metric's samples as quantiles (SummaryQuantiles) per
// side, of the finite samples the judge compared; empty when a side had
// none.
type Summary struct {
	Baseline []Number `json:"baseline"`
	Canary   []Number `json:"canary"`
}

// Number is a float written with four significant digits, the precision a
// reader of the status needs, so that a judgement of several metrics fits
// in a measurement's value.
type Number float64

// MarshalJSON writes n with four significant digits, or null when it is
// not finite (JSON has no infinities or NaN).
func (n Number) MarshalJSON() ([]byte, error) {
	f := float64(n)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, f, 'g', 4, 64), nil
}

// UnmarshalJSON reads a number, or null as NaN.
func (n *Number) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*n = Number(math.NaN())
		return nil
	}
	f, err := strconv.ParseFloat(string(b), 64)
	*n = Number(f)
	return err
}

// Summarize is the SummaryQuantiles of the finite values (linear
// interpolation between order statistics); nil for none.
func Summarize(values []float64) []Number {
	sorted := slices.DeleteFunc(slices.Clone(values), func(v float64) bool { return math.IsNaN(v) || math.IsInf(v, 0) })
	if len(sorted) == 0 {
		return nil
	}
	slices.Sort(sorted)
	out := make([]Number, len(SummaryQuantiles))
	for i, q := range SummaryQuantiles {
		pos := q * float64(len(sorted)-1)
		lo := int(math.Floor(pos))
		hi := min(lo+1, len(sorted)-1)
		out[i] = Number(sorted[lo] + (pos-float64(lo))*(sorted[hi]-sorted[lo]))
	}
	return out
}

// ParseValue reads a judge measurement's value. A value that is not a
// judgement (no outcome the judge gives) is an error, so a reader never
// shows another provider's JSON as a verdict.
func ParseValue(s string) (Value, error) {
	var v Value
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return Value{}, fmt.Errorf("reading a judgement: %w", err)
	}
	switch v.Outcome {
	case OutcomePass, OutcomeMarginal, OutcomeFail:
		return v, nil
	}
	return Value{}, fmt.Errorf("reading a judgement: outcome %q is none of %s, %s, %s", v.Outcome, OutcomePass, OutcomeMarginal, OutcomeFail)
}
