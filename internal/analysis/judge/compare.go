package judge

// compare is filled in by the statistics; until then every metric is NoData,
// which never passes.
func compare(metric string, baseline, canary []float64, c Criteria) Verdict {
	return Verdict{Metric: metric, Class: NoData, BaselineN: len(baseline), CanaryN: len(canary),
		Critical: c.Critical, Reason: "not yet implemented"}
}

func judge(verdicts []Verdict, t Thresholds) Judgement {
	return Judgement{Outcome: OutcomeFail, Verdicts: verdicts, Reason: "not yet implemented"}
}
