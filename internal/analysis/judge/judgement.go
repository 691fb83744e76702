package judge

import (
	"fmt"
	"strings"
)

func judge(verdicts []Verdict, t Thresholds) Judgement {
	if t.Pass <= 0 {
		t.Pass = DefaultPass
	}
	if t.Marginal <= 0 {
		t.Marginal = DefaultMarginal
	}
	t.Marginal = min(t.Marginal, t.Pass)
	j := Judgement{Verdicts: verdicts, Outcome: OutcomeFail}
	if len(verdicts) == 0 {
		j.Reason = "no metrics were judged"
		return j
	}
	var total, passed float64
	var failing, critical []string
	for _, v := range verdicts {
		w := v.Weight
		if w <= 0 {
			w = 1
		}
		total += w
		if v.Class == Pass {
			passed += w
			continue
		}
		failing = append(failing, fmt.Sprintf("%s %s: %s", v.Metric, v.Class, v.Reason))
		if v.Critical {
			critical = append(critical, v.Metric)
		}
	}
	j.Score = 100 * passed / total
	head := fmt.Sprintf("score %.0f", j.Score)
	switch {
	case len(critical) > 0:
		head = fmt.Sprintf("critical metric %s did not pass; %s", strings.Join(critical, ", "), head)
	case j.Score >= t.Pass:
		j.Outcome = OutcomePass
		head += fmt.Sprintf(" reaches pass %.0f", t.Pass)
	case j.Score >= t.Marginal:
		j.Outcome = OutcomeMarginal
		head += fmt.Sprintf(" is below pass %.0f but reaches marginal %.0f", t.Pass, t.Marginal)
	default:
		head += fmt.Sprintf(" is below marginal %.0f", t.Marginal)
	}
	if len(failing) == 0 {
		j.Reason = fmt.Sprintf("%s: all %d metrics pass", head, len(verdicts))
		return j
	}
	j.Reason = head + ". " + strings.Join(failing, ". ")
	return j
}
