// Package health is the verdict Argo CD gives the argoproj.io objects
// Aviary writes, written as pure Go so a unit table can show Argo CD's
// answer for each status the controller produces. Argo CD judges an
// Experiment with the Lua script it ships
// (resource_customizations/argoproj.io/Experiment/health.lua) run through
// its Lua wrapper and gitops-engine's GetResourceHealth; Experiment follows
// that path rule for rule, including what happens when the script returns
// no verdict.
package health

import (
	"reflect"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// Code is an Argo CD health status.
type Code string

// Argo CD's health codes that an Experiment can get.
const (
	Healthy     Code = "Healthy"
	Progressing Code = "Progressing"
	Degraded    Code = "Degraded"
	Unknown     Code = "Unknown"
)

// Status is Argo CD's verdict: the code and the message it shows beside it.
type Status struct {
	Code    Code
	Message string
}

// Messages Argo CD shows for an Experiment.
const (
	MsgPendingDeletion = "Pending deletion"
	MsgPending         = "Experiment is pending"
	MsgRunning         = "Experiment is running"
	MsgSuccessful      = "Experiment is successful"
	MsgFailed          = "Experiment has failed"
	MsgError           = "Experiment had an error"
	MsgNotReconciled   = "Waiting for experiment to finish: status has not been reconciled."
	// MsgNoVerdict is what Argo CD shows when the script returns an empty
	// table: its Lua-to-JSON encoder writes an empty table as [], which
	// does not decode into a health status, and the decoding error
	// becomes the message of an Unknown verdict.
	MsgNoVerdict = "json: cannot unmarshal array into Go value of type health.HealthStatus"
)

// Experiment is Argo CD's verdict on exp as the API server stores it.
//
// A zero status stands for an object without one: the API server drops
// the status of a created object when the status subresource is served,
// and every status the controller writes carries a phase or a condition,
// so a stored `status: {}` does not occur.
func Experiment(exp *v1alpha1.Experiment) Status {
	// gitops-engine answers for an object being deleted before any script
	// runs (the script's own deletion branch only runs for hook objects,
	// which Experiments are not).
	if exp.DeletionTimestamp != nil {
		return Status{Progressing, MsgPendingDeletion}
	}
	if statusAbsent(&exp.Status) {
		return Status{Progressing, MsgNotReconciled}
	}
	switch exp.Status.Phase {
	case v1alpha1.AnalysisPhasePending:
		return Status{Progressing, MsgPending}
	case v1alpha1.AnalysisPhaseRunning:
		return Status{Progressing, MsgRunning}
	case v1alpha1.AnalysisPhaseSuccessful:
		return Status{Healthy, MsgSuccessful}
	case v1alpha1.AnalysisPhaseFailed:
		return Status{Degraded, MsgFailed}
	case v1alpha1.AnalysisPhaseError:
		return Status{Degraded, MsgError}
	}
	// Inconclusive, or a status with no phase (a condition alone): the
	// script has no branch for it and returns an empty table.
	return Status{Unknown, MsgNoVerdict}
}

// statusAbsent tells whether no field of the status is set; reflection
// covers fields added to ExperimentStatus later too.
func statusAbsent(s *v1alpha1.ExperimentStatus) bool {
	return reflect.ValueOf(*s).IsZero()
}
