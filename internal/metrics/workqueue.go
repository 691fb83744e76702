package metrics

// The controllers' names, which controller-runtime gives their work queues:
// the name label of workqueue_depth, workqueue_adds_total and the other
// workqueue_* families. They are Argo Rollouts' queue names, so a panel or
// alert on workqueue_depth{name="Rollouts"} keeps working.
const (
	QueueRollouts     = "Rollouts"
	QueueAnalysisRuns = "AnalysisRuns"
	QueueExperiments  = "Experiments"
)
