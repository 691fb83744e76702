package judge

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	stats "github.com/aviary-rollouts/aviary/internal/analysis/judge"
	"github.com/aviary-rollouts/aviary/internal/metricprovider"
)

// encode is the measurement's value, within metricprovider.MaxValueBytes:
// when the whole judgement does not fit, the sample summaries go first,
// then the reasons of passing verdicts, then passing verdicts, then every
// verdict (the message still names the metrics that did not pass).
func encode(j stats.Judgement, summaries []stats.Summary) string {
	j.Verdicts = slices.Clone(j.Verdicts)
	for i := range j.Verdicts {
		j.Verdicts[i] = rounded(j.Verdicts[i])
	}
	j.Score = round(j.Score)
	v := stats.Value{Judgement: j, Samples: summaries}
	passing := func(v stats.Verdict) bool { return v.Class == stats.Pass }
	shrink := []func(*stats.Value){
		func(v *stats.Value) { v.Samples = nil },
		func(v *stats.Value) {
			v.Verdicts = slices.Clone(v.Verdicts)
			for i := range v.Verdicts {
				if passing(v.Verdicts[i]) {
					v.Verdicts[i].Reason = ""
				}
			}
		},
		func(v *stats.Value) { v.Verdicts = slices.DeleteFunc(slices.Clone(v.Verdicts), passing) },
		func(v *stats.Value) { v.Verdicts = nil },
	}
	for i := 0; ; i++ {
		b, err := json.Marshal(v)
		if err == nil && len(b) <= metricprovider.MaxValueBytes || i == len(shrink) {
			if err != nil {
				return fmt.Sprintf(`{"score":%s,"outcome":%q}`, strconv.FormatFloat(j.Score, 'g', 4, 64), j.Outcome)
			}
			return string(b)
		}
		shrink[i](&v)
	}
}

// rounded is v with its numbers at four significant digits.
func rounded(v stats.Verdict) stats.Verdict {
	for _, f := range []*float64{&v.BaselineMedian, &v.CanaryMedian, &v.Effect, &v.EffectLow, &v.EffectHigh, &v.Confidence, &v.PValue, &v.Weight} {
		*f = round(*f)
	}
	return v
}

func round(f float64) float64 {
	r, err := strconv.ParseFloat(strconv.FormatFloat(f, 'g', 4, 64), 64)
	if err != nil {
		return f
	}
	return r
}

// message says the outcome and score and, for every metric that did not
// pass, why: its class, medians, effect and interval, or the judge's reason
// when there was too little data to have them. (The judgement's own reason
// is in the value; it would repeat these.)
func message(j stats.Judgement, t stats.Thresholds) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: score %s (pass %s, marginal %s)", j.Outcome, num(j.Score), num(t.Pass), num(t.Marginal))
	for _, v := range j.Verdicts {
		if v.Class == stats.Pass {
			continue
		}
		critical := ""
		if v.Critical {
			critical = " (critical)"
		}
		switch {
		case v.Class == stats.NoData:
			fmt.Fprintf(&b, "; %s NoData%s with %d baseline and %d canary samples: %s", v.Metric, critical, v.BaselineN, v.CanaryN, v.Reason)
		case v.EffectOf == "":
			// A baseline of 0 throughout has no relative change to report.
			fmt.Fprintf(&b, "; %s %s%s: canary median %s vs baseline %s, %d/%d samples: %s",
				v.Metric, v.Class, critical, num(v.CanaryMedian), num(v.BaselineMedian), v.CanaryN, v.BaselineN, v.Reason)
		default:
			fmt.Fprintf(&b, "; %s %s%s: canary median %s vs baseline %s, effect on the %s %s [%s, %s] (%s%% interval), p=%s, %d/%d samples",
				v.Metric, v.Class, critical, num(v.CanaryMedian), num(v.BaselineMedian), v.EffectOf, percent(v.Effect), percent(v.EffectLow), percent(v.EffectHigh),
				num(100*v.Confidence), num(v.PValue), v.CanaryN, v.BaselineN)
		}
	}
	return b.String()
}

func num(f float64) string { return strconv.FormatFloat(f, 'g', 4, 64) }

func percent(f float64) string { return fmt.Sprintf("%+.1f%%", 100*f) }
