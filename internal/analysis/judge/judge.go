// Package judge compares a canary's samples of a metric with a baseline's and
// turns the comparisons into one judgement, as Kayenta's judge does, but with
// every awkward case given a defined outcome instead of a silent pass.
//
// Each metric (Compare) is tested with the Mann–Whitney U test: a rank test,
// so it needs no assumption about the shape of latency distributions and a
// few outliers cannot dominate it. Ties are corrected for; the p-value is
// exact for small tie-free samples (up to 60 values in all), exact given the
// ties for count-like samples (few distinct values, such as error counters
// that are mostly 0, where the normal approximation errs most), and the
// normal approximation with continuity correction otherwise.
//
// The size of a change is an effect with a confidence interval: the
// Hodges–Lehmann shift (the median of all canary−baseline differences, with
// its distribution-free interval from U's critical values) relative to the
// baseline median, or, for count-like samples and a baseline median of 0,
// the difference of the means relative to the baseline mean. A metric fails
// (High or Low) only when the rank test is significant in the bad direction,
// the estimate lies beyond the tolerance and the interval clears half of it:
// a large sample does not fail a canary for a harmless difference. Judge weighs the verdicts into a
// 0–100 score; a critical metric that does not pass fails the judgement.
// docs/analysis.md describes the rules and the measured quality.
//
// The statistics are written here from their definitions: gonum's stat
// package has no rank test, golang.org/x/perf's Mann–Whitney test is
// internal to that module, and github.com/aclements/go-moremath/stats, where
// it came from, has no Hodges–Lehmann interval, which the judge needs as
// much as the test. The tests check the code against published tables and
// worked examples, SciPy and brute force.
//
// The package does no I/O: callers collect the samples. Value is the
// judgement as the judge provider writes it into a measurement, defined
// here so that what shows runs reads it without linking the provider.
package judge

// Direction says which change of a metric is bad.
type Direction string

const (
	// Increase: higher is worse (latency, errors).
	Increase Direction = "increase"
	// Decrease: lower is worse (throughput, success rate).
	Decrease Direction = "decrease"
	// Either: any change beyond the tolerance is bad. The default.
	Either Direction = "either"
)

// Defaults applied by Compare to zero fields of Criteria and by Judge to zero
// Thresholds.
const (
	// DefaultTolerance tolerates a 5% change of the median.
	DefaultTolerance = 0.05
	// DefaultMinSamples is the fewest samples per side that are judged.
	DefaultMinSamples = 10
	// DefaultPass and DefaultMarginal are the score thresholds of Kayenta's
	// canary configurations.
	DefaultPass     = 95.0
	DefaultMarginal = 75.0
	// Alpha is the significance level of the rank test; confidence intervals
	// are at 1-Alpha.
	Alpha = 0.05
)

// Criteria say how one metric is judged.
type Criteria struct {
	Direction Direction // "" means Either
	// Tolerance is the relative change of the median tolerated (0.1 = 10%).
	// 0 means DefaultTolerance; a negative value is treated as 0 tolerance.
	Tolerance  float64
	Critical   bool    // a failing critical metric fails the whole judgement
	MinSamples int     // per side; fewer is NoData (never Pass); 0 means DefaultMinSamples
	Weight     float64 // share in the score; 0 means 1
}

// Class is the classification of one metric.
type Class string

const (
	Pass   Class = "Pass"   // no change beyond the tolerance in the bad direction
	High   Class = "High"   // the canary is higher than tolerated
	Low    Class = "Low"    // the canary is lower than tolerated
	NoData Class = "NoData" // too few usable samples to judge; never a pass
)

// Verdict is the comparison of one metric, written into the measurement's
// value as JSON. All numbers are finite (NaN cannot be encoded in JSON): a
// value that is undefined is 0 and the Reason says why.
type Verdict struct {
	Metric         string  `json:"metric"`
	Class          Class   `json:"class"`
	BaselineMedian float64 `json:"baselineMedian"`
	CanaryMedian   float64 `json:"canaryMedian"`
	// Effect is the relative shift of the canary against the baseline
	// (0.15 = 15% higher) and EffectLow..EffectHigh its confidence interval.
	Effect     float64 `json:"effect"`
	EffectLow  float64 `json:"effectLow"`
	EffectHigh float64 `json:"effectHigh"`
	// EffectOf says what Effect is relative to: EffectOfMedian or
	// EffectOfMean; "" when the baseline is 0 throughout and no relative
	// change is defined (Effect and its interval are then 0).
	EffectOf string `json:"effectOf,omitempty"`
	// Confidence is the two-sided confidence of EffectLow..EffectHigh.
	Confidence float64 `json:"confidence,omitempty"`
	PValue     float64 `json:"pValue"`
	BaselineN  int     `json:"baselineN"`
	CanaryN    int     `json:"canaryN"`
	Critical   bool    `json:"critical"`
	Weight     float64 `json:"weight,omitempty"`
	// Reason is one sentence a user reads: why this class.
	Reason string `json:"reason"`
}

// Compare judges one metric's canary samples against its baseline samples.
func Compare(metric string, baseline, canary []float64, c Criteria) Verdict {
	return compare(metric, baseline, canary, c)
}

// Thresholds are the score (0–100) a judgement needs to pass, or to be
// marginal rather than failed. Zero fields mean DefaultPass and
// DefaultMarginal.
type Thresholds struct {
	Pass     float64 `json:"pass"`
	Marginal float64 `json:"marginal"`
}

// Outcomes of a judgement.
const (
	OutcomePass     = "Pass"
	OutcomeMarginal = "Marginal"
	OutcomeFail     = "Fail"
)

// Judgement aggregates the verdicts of a canary's metrics.
type Judgement struct {
	Score    float64   `json:"score"`   // 0–100: weighted share of metrics that pass
	Outcome  string    `json:"outcome"` // OutcomePass, OutcomeMarginal or OutcomeFail
	Verdicts []Verdict `json:"verdicts"`
	Reason   string    `json:"reason"`
}

// Judge scores the verdicts and decides the outcome: Fail below
// t.Marginal or when a critical metric is not Pass, Marginal below t.Pass,
// Pass otherwise.
func Judge(verdicts []Verdict, t Thresholds) Judgement {
	return judge(verdicts, t)
}
