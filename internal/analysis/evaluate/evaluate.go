// Package evaluate judges metric results with the successCondition and
// failureCondition expressions of an analysis metric, and evaluates the time
// expressions of Prometheus range queries. Expressions use the expr language
// (github.com/expr-lang/expr), as Argo Rollouts does, so existing templates
// keep their meaning.
package evaluate

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// ErrNoData replaces an evaluation error when the provider returned nothing
// to evaluate: "cannot fetch 0 from <nil>" tells a user far less than this.
var ErrNoData = errors.New("metric result is nil or empty: no data returned from the metric provider")

// ErrNaN makes a measurement that would pass on a NaN an Error. A NaN is
// what Prometheus returns for a ratio with no traffic (0/0), and every
// comparison with it is false, so a lone failureCondition such as
// `result[0] > 0.05` would otherwise pass a canary nobody measured. A
// template that means NaN to pass says so with isNaN() in a condition.
var ErrNaN = errors.New("the metric provider returned NaN (no data, e.g. a ratio with no traffic), which never passes on its own: handle it with isNaN() in a condition if it should")

// conditionEnv is the environment of success and failure conditions. It is
// a struct rather than a map so that result is typed `any` at compile time:
// programs are then independent of the result's Go type and can be cached.
type conditionEnv struct {
	Result  any                        `expr:"result"`
	AsInt   func(any) (int64, error)   `expr:"asInt"`
	AsFloat func(any) (float64, error) `expr:"asFloat"`
	IsNaN   func(float64) bool         `expr:"isNaN"`
	IsInf   func(float64) bool         `expr:"isInf"`
	IsNil   func(any) bool             `expr:"isNil"`
	Default func(any, any) any         `expr:"default"`
}

// timeEnv is the environment of range-query time expressions; now() and
// duration() are expr builtins.
type timeEnv struct {
	IsNaN func(float64) bool `expr:"isNaN"`
	IsInf func(float64) bool `expr:"isInf"`
}

var (
	conditionPrograms = newCache(4096, func(expression string) (*vm.Program, error) {
		return expr.Compile(expression, expr.Env(conditionEnv{}))
	})
	timePrograms = newCache(1024, func(expression string) (*vm.Program, error) {
		return expr.Compile(expression, expr.Env(timeEnv{}))
	})
)

// Condition evaluates a success or failure condition against a provider
// result; pointers are dereferenced first. The expression must produce a
// bool. If it fails to run while the result is nil or empty, the error is
// ErrNoData, whatever the expression tripped over.
func Condition(expression string, result any) (bool, error) {
	program, err := conditionPrograms.get(expression)
	if err != nil {
		return false, plain(err)
	}
	result = deref(result)
	out, err := expr.Run(program, conditionEnv{
		Result:  result,
		AsInt:   asInt,
		AsFloat: asFloat,
		IsNaN:   math.IsNaN,
		IsInf:   isInf,
		IsNil:   isNil,
		Default: orDefault,
	})
	if err == nil {
		if b, ok := out.(bool); ok {
			return b, nil
		}
		err = fmt.Errorf("expected bool, but got %T", out)
	}
	if isNilOrEmpty(result) {
		return false, ErrNoData
	}
	return false, plain(err)
}

// Measurement is the phase of one measurement with the given result:
//   - no conditions: Successful;
//   - only a success condition: Successful if it holds, else Failed;
//   - only a failure condition: Failed if it holds, else Successful;
//   - both: Failed if the failure condition holds, else Successful if the
//     success condition holds, else Inconclusive.
//
// An evaluation error makes the phase Error; the error names the condition.
func Measurement(metric v1alpha1.Metric, result any) (v1alpha1.AnalysisPhase, error) {
	success, err := optionalCondition("successCondition", metric.SuccessCondition, result)
	if err != nil {
		return v1alpha1.AnalysisPhaseError, err
	}
	failure, err := optionalCondition("failureCondition", metric.FailureCondition, result)
	if err != nil {
		return v1alpha1.AnalysisPhaseError, err
	}
	hasSuccess, hasFailure := metric.SuccessCondition != "", metric.FailureCondition != ""
	switch {
	case !hasSuccess && !hasFailure:
		return v1alpha1.AnalysisPhaseSuccessful, nil
	case hasSuccess && !hasFailure:
		failure = !success
	case !hasSuccess && hasFailure:
		success = !failure
	}
	switch {
	case failure:
		return v1alpha1.AnalysisPhaseFailed, nil
	case success && containsNaN(reflect.ValueOf(deref(result)), 0) && !handlesNaN(metric):
		return v1alpha1.AnalysisPhaseError, ErrNaN
	case success:
		return v1alpha1.AnalysisPhaseSuccessful, nil
	default:
		return v1alpha1.AnalysisPhaseInconclusive, nil
	}
}

// handlesNaN: a condition of the metric calls isNaN, so the template's
// author decided what a NaN means.
func handlesNaN(metric v1alpha1.Metric) bool {
	return strings.Contains(metric.SuccessCondition, "isNaN(") || strings.Contains(metric.FailureCondition, "isNaN(")
}

// containsNaN looks for a NaN float anywhere in a provider's result
// (numbers, lists, maps, structs such as CloudWatch's results). depth bounds
// the walk: results are a few levels deep.
func containsNaN(v reflect.Value, depth int) bool {
	if depth > 8 || !v.IsValid() {
		return false
	}
	switch v.Kind() {
	case reflect.Float32, reflect.Float64:
		return math.IsNaN(v.Float())
	case reflect.Interface, reflect.Pointer:
		return !v.IsNil() && containsNaN(v.Elem(), depth+1)
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			if containsNaN(v.Index(i), depth+1) {
				return true
			}
		}
	case reflect.Map:
		for it := v.MapRange(); it.Next(); {
			if containsNaN(it.Value(), depth+1) {
				return true
			}
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() && containsNaN(v.Field(i), depth+1) {
				return true
			}
		}
	}
	return false
}

// optionalCondition evaluates expression unless it is empty, prefixing an
// error with the field and expression so a status message stands on its own.
func optionalCondition(field, expression string, result any) (bool, error) {
	if expression == "" {
		return false, nil
	}
	ok, err := Condition(expression, result)
	if err != nil {
		// Quoted as written, not Go-escaped: users compare it with their spec.
		return false, fmt.Errorf("could not evaluate %s \"%s\": %w", field, expression, err)
	}
	return ok, nil
}

// Time evaluates a Prometheus rangeQuery start or end expression such as
// `now() - duration("5m")`. The expression must produce a time.
func Time(expression string) (time.Time, error) {
	program, err := timePrograms.get(expression)
	if err != nil {
		return time.Time{}, plain(err)
	}
	out, err := expr.Run(program, timeEnv{IsNaN: math.IsNaN, IsInf: isInf})
	if err != nil {
		return time.Time{}, plain(err)
	}
	t, ok := out.(time.Time)
	if !ok {
		return time.Time{}, fmt.Errorf("expected time.Time, but got %T", out)
	}
	return t, nil
}

// plain drops expr's multi-line source excerpt from an error: the message
// ends up in a one-line status field next to the expression itself.
func plain(err error) error {
	var fileErr *file.Error
	if errors.As(err, &fileErr) {
		return errors.New(fileErr.Message)
	}
	return err
}

func isInf(f float64) bool {
	return math.IsInf(f, 0)
}

// isNil reports whether v is nil or a nil pointer, map, slice or channel.
func isNil(v any) bool {
	if v == nil {
		return true
	}
	switch rv := reflect.ValueOf(v); rv.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Chan, reflect.Func, reflect.Interface:
		return rv.IsNil()
	}
	return false
}

// isNilOrEmpty also counts an empty list, map or string as no data: an
// empty Prometheus vector or an empty response body.
func isNilOrEmpty(v any) bool {
	if isNil(v) {
		return true
	}
	switch rv := reflect.ValueOf(v); rv.Kind() {
	case reflect.Slice, reflect.Array, reflect.Map, reflect.String:
		return rv.Len() == 0
	}
	return false
}

// deref replaces a pointer by what it points to, and a nil of any type by
// plain nil, so that `result == nil` holds for a nil result.
func deref(v any) any {
	if isNil(v) {
		return nil
	}
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Pointer {
		return rv.Elem().Interface()
	}
	return v
}

// orDefault is the condition function default(value, fallback).
//
// Argo Rollouts' default ignores its first argument and always tests the
// result. Here the argument is tested, which is the same for the documented
// form default(result, x) and makes default(result.field, x) useful.
func orDefault(value, fallback any) any {
	if isNil(value) {
		return fallback
	}
	return value
}
