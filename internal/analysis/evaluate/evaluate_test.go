package evaluate

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/expr-lang/expr/vm"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

func decodeJSON(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// skywalkingData is the `data` object of a readMetricsValues answer, the
// shape seed 08's condition walks.
const skywalkingData = `{"service_apdex": {"label": null, "values": {"values": [{"value": 10000}, {"value": 9950}]}}}`

func TestCondition(t *testing.T) {
	f := 1.5
	var nilPtr *float64
	cases := []struct {
		name   string
		expr   string
		result any
		want   bool
	}{
		// Seed conditions, as users write them.
		{"seed 06 success-rate passes", "result[0] >= 0.95", []float64{0.97}, true},
		{"seed 06 success-rate fails", "result[0] >= 0.95", []float64{0.5}, false},
		{"seed 06 error-rate", "result[0] <= 0.95", []float64{0.01}, true},
		{"seed 06 total-errors failure", "result[0] >= 10", []float64{12}, true},
		{"seed 06 band lower", "result[0] < 0.50", []float64{0.7}, false},
		{"seed 01 success-rate", "result[0] > 0.90", []float64{0.91, 0.2}, true},
		{"seed 06 web string true", "result == 'true'", "true", true},
		// Comparing a JSON boolean with a string is false, as in Argo Rollouts.
		{"seed 06 web boolean is not the string", "result == 'true'", true, false},
		{"seed 06 web object", "result.ok && result.successPercent >= 0.90", decodeJSON(t, `{"ok": true, "successPercent": 0.93}`), true},
		{"seed 06 web object low", "result.ok && result.successPercent >= 0.90", decodeJSON(t, `{"ok": true, "successPercent": 0.5}`), false},
		{"seed 08 skywalking apdex", "all(result.service_apdex.values.values, {asFloat(.value) >= 9900})", decodeJSON(t, skywalkingData), true},
		{"seed 08 skywalking apdex low", "all(result.service_apdex.values.values, {asFloat(.value) >= 9960})", decodeJSON(t, skywalkingData), false},
		// Environment functions.
		{"scalar", "result > 1", 2.0, true},
		{"pointer is dereferenced", "result == 1.5", &f, true},
		{"asInt of a numeric string", "asInt(result) == 42", "42", true},
		{"asInt truncates a float", "asInt(result) == 4", 4.9, true},
		{"asInt of an int", "asInt(result) + 1 == 8", 7, true},
		{"asFloat of a string", "asFloat(result) < 0.6", "0.5", true},
		{"asFloat of an unsigned", "asFloat(result) == 3", uint8(3), true},
		{"isNaN", "isNaN(result)", math.NaN(), true},
		{"isNaN of a Prometheus NaN string", "isNaN(asFloat(result))", "NaN", true},
		{"isInf either sign", "isInf(result[0]) && isInf(result[1])", []float64{math.Inf(1), math.Inf(-1)}, true},
		{"isInf of a finite number", "isInf(result)", 1.0, false},
		{"isNil of nil", "isNil(result)", nil, true},
		{"isNil of a nil pointer", "isNil(result)", nilPtr, true},
		{"isNil of a nil slice", "isNil(result)", []float64(nil), true},
		{"isNil of an empty slice", "isNil(result)", []float64{}, false},
		{"isNil of a value", "isNil(result)", 0.0, false},
		{"result == nil for a nil pointer", "result == nil", nilPtr, true},
		{"default of nil", "default(result, 5) > 4", nil, true},
		{"default of a value", "default(result, 5) < 4", 3.0, true},
		{"default of a missing field", "default(result.missing, 0.9) >= 0.9", map[string]any{}, true},
		{"empty vector guarded by len", "len(result) == 0 || result[0] > 1", []float64{}, true},
		// expr builtins.
		{"filter and len", "len(filter(result, {# > 0.5})) == 2", []float64{0.1, 0.6, 0.9}, true},
		{"any", "any(result, {# > 0.8})", []float64{0.1, 0.9}, true},
		{"map and sum", "sum(map(result, {# * 2})) == 6", []float64{1, 2}, true},
		{"ternary", "len(result) > 1 ? result[1] > 0 : false", []float64{0, 1}, true},
		{"in", "result in ['ok', 'good']", "good", true},
		{"matches", "result matches '^2..$'", "204", true},
		{"string functions", "lower(trim(result)) == 'ok'", " OK ", true},
	}
	for _, c := range cases {
		got, err := Condition(c.expr, c.result)
		if err != nil || got != c.want {
			t.Errorf("%s: Condition(%q, %#v) = %v, %v; want %v", c.name, c.expr, c.result, got, err, c.want)
		}
	}
}

func TestConditionErrors(t *testing.T) {
	cases := []struct {
		name    string
		expr    string
		result  any
		wantErr string
	}{
		{"nil result", "result[0] >= 0.95", nil, ErrNoData.Error()},
		{"empty vector", "result[0] >= 0.95", []float64{}, ErrNoData.Error()},
		{"nil slice", "result[0] >= 0.95", []float64(nil), ErrNoData.Error()},
		{"empty body", "asInt(result) > 0", "", ErrNoData.Error()},
		{"empty object", "result.ok", map[string]any{}, ErrNoData.Error()},
		{"non-bool on nil", "result", nil, ErrNoData.Error()},
		{"not a bool", "result[0]", []float64{1}, "expected bool, but got float64"},
		{"not a bool string", "'yes'", 1.0, "expected bool, but got string"},
		{"asInt of a word", "asInt(result) > 1", "abc", `asInt(): "abc" is not an integer`},
		{"asInt of a decimal string", "asInt(result) > 1", "4.2", `asInt(): "4.2" is not an integer`},
		{"asInt of a list", "asInt(result) > 1", []float64{1}, "asInt() not supported on []float64 [1]"},
		{"asFloat of a word", "asFloat(result) > 1", "fast", `asFloat(): "fast" is not a number`},
		{"asFloat of a bool", "asFloat(result) > 1", true, "asFloat() not supported on bool true"},
		{"index out of range with data", "result[3] > 1", []float64{1}, "index out of range"},
		{"syntax error is not hidden by no data", "result[0] >=", nil, "unexpected token EOF"},
		{"unknown function", "avg2(result) > 1", []float64{1}, "unknown name avg2"},
	}
	for _, c := range cases {
		got, err := Condition(c.expr, c.result)
		if err == nil {
			t.Errorf("%s: Condition(%q, %#v) = %v, want error %q", c.name, c.expr, c.result, got, c.wantErr)
			continue
		}
		if !strings.Contains(err.Error(), c.wantErr) {
			t.Errorf("%s: error %q, want it to contain %q", c.name, err, c.wantErr)
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error %q spans lines", c.name, err)
		}
	}
	// The no-data message is exact, not merely contained.
	if _, err := Condition("result[0] > 1", nil); !errors.Is(err, ErrNoData) || err.Error() != "metric result is nil or empty: no data returned from the metric provider" {
		t.Errorf("nil result: error %v", err)
	}
}

func TestMeasurement(t *testing.T) {
	const (
		good = "result > 0.9"
		bad  = "result < 0.5"
	)
	cases := []struct {
		name             string
		success, failure string
		result           float64
		want             v1alpha1.AnalysisPhase
	}{
		{"no conditions", "", "", 0.1, v1alpha1.AnalysisPhaseSuccessful},
		{"success only, holds", good, "", 0.95, v1alpha1.AnalysisPhaseSuccessful},
		{"success only, does not hold", good, "", 0.7, v1alpha1.AnalysisPhaseFailed},
		{"failure only, holds", "", bad, 0.1, v1alpha1.AnalysisPhaseFailed},
		{"failure only, does not hold", "", bad, 0.7, v1alpha1.AnalysisPhaseSuccessful},
		{"both, success", good, bad, 0.95, v1alpha1.AnalysisPhaseSuccessful},
		{"both, failure", good, bad, 0.1, v1alpha1.AnalysisPhaseFailed},
		{"both, neither: inconclusive", good, bad, 0.7, v1alpha1.AnalysisPhaseInconclusive},
		{"both hold: failure wins", "result > 0", "result > 0", 1, v1alpha1.AnalysisPhaseFailed},
	}
	for _, c := range cases {
		m := v1alpha1.Metric{Name: "m", SuccessCondition: c.success, FailureCondition: c.failure}
		got, err := Measurement(m, c.result)
		if err != nil || got != c.want {
			t.Errorf("%s: Measurement = %s, %v; want %s", c.name, got, err, c.want)
		}
	}
}

func TestMeasurementErrors(t *testing.T) {
	cases := []struct {
		name             string
		success, failure string
		result           any
		wantErr          string
	}{
		{"no data names the condition", "result[0] >= 0.95", "", []float64{},
			`could not evaluate successCondition "result[0] >= 0.95": metric result is nil or empty: no data returned from the metric provider`},
		{"failure condition error", "", "result[0] >= 10", nil,
			`could not evaluate failureCondition "result[0] >= 10": metric result is nil or empty: no data returned from the metric provider`},
		{"bad type", "result", "", 1.0, `could not evaluate successCondition "result": expected bool, but got float64`},
		{"success fine, failure broken", "result > 0", "asInt(result) > 0", 1.5, ""},
		{"failure broken", "result > 0", "asInt('x') > 0", 1.5, `could not evaluate failureCondition "asInt('x') > 0": asInt(): "x" is not an integer`},
		{"quotes are not escaped", `asInt("x") > 0`, "", 1.5, `could not evaluate successCondition "asInt("x") > 0": asInt(): "x" is not an integer`},
	}
	for _, c := range cases {
		m := v1alpha1.Metric{Name: "m", SuccessCondition: c.success, FailureCondition: c.failure}
		got, err := Measurement(m, c.result)
		if c.wantErr == "" {
			if err != nil {
				t.Errorf("%s: unexpected error %v", c.name, err)
			}
			continue
		}
		if got != v1alpha1.AnalysisPhaseError || err == nil || err.Error() != c.wantErr {
			t.Errorf("%s: Measurement = %s, %v; want Error, %q", c.name, got, err, c.wantErr)
		}
	}
}

func TestTime(t *testing.T) {
	before := time.Now()
	cases := []struct {
		expr   string
		offset time.Duration
	}{
		{"now()", 0},
		{"now() - duration('5m')", -5 * time.Minute},
		{`now() - duration("1h30m")`, -90 * time.Minute},
		{"isNaN(1.0) ? now() : now() + duration('1m')", time.Minute},
	}
	for _, c := range cases {
		got, err := Time(c.expr)
		after := time.Now()
		if err != nil {
			t.Errorf("Time(%q): %v", c.expr, err)
			continue
		}
		if got.Before(before.Add(c.offset)) || got.After(after.Add(c.offset)) {
			t.Errorf("Time(%q) = %v, want now%+v", c.expr, got, c.offset)
		}
	}
	for expression, wantErr := range map[string]string{
		"1 + 1":         "expected time.Time, but got int",
		"duration('x')": `time: invalid duration "x"`,
		"now() -":       "unexpected token EOF",
		"result":        "unknown name result",
	} {
		if _, err := Time(expression); err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("Time(%q) error %v, want %q", expression, err, wantErr)
		}
	}
}

// A cached time program must still read the clock on every run.
func TestTimeIsNotFrozenByTheCache(t *testing.T) {
	first, _ := Time("now()")
	time.Sleep(2 * time.Millisecond)
	second, _ := Time("now()")
	if !second.After(first) {
		t.Errorf("second now() %v is not after the first %v", second, first)
	}
}

func TestProgramsAreCompiledOnce(t *testing.T) {
	compiles := 0
	c := newCache(2, func(s string) (*vm.Program, error) {
		compiles++
		return conditionPrograms.compile(s)
	})
	for range 3 {
		if _, err := c.get("result > 1"); err != nil {
			t.Fatal(err)
		}
	}
	if compiles != 1 {
		t.Errorf("compiled %d times, want 1", compiles)
	}
	// Compile errors are remembered as well.
	for range 2 {
		if _, err := c.get("result >"); err == nil {
			t.Fatal("want a compile error")
		}
	}
	if compiles != 2 {
		t.Errorf("compiled %d times, want 2", compiles)
	}
	c.get("result < 1")
	if c.size() != 2 {
		t.Errorf("cache holds %d programs, want the cap of 2", c.size())
	}
}

// Measurements of many runs evaluate at once; run with -race.
func TestConditionConcurrently(t *testing.T) {
	var wg sync.WaitGroup
	for i := range 32 {
		wg.Go(func() {
			expression := fmt.Sprintf("result[0] >= %d", i%4)
			for range 50 {
				ok, err := Condition(expression, []float64{2})
				if err != nil || ok != (i%4 <= 2) {
					t.Errorf("%s: %v, %v", expression, ok, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// TestMeasurementNaN: a NaN anywhere in a result never passes unless a
// condition handles it with isNaN(); conditions that fail on it still fail.
func TestMeasurementNaN(t *testing.T) {
	nan := math.NaN()
	type series struct{ Values []float64 }
	cases := []struct {
		name             string
		success, failure string
		result           any
		want             v1alpha1.AnalysisPhase
	}{
		{"failure-only condition false on NaN", "", "result[0] > 0.05", []float64{nan}, v1alpha1.AnalysisPhaseError},
		{"negated success condition true on NaN", "!(result < 0.5)", "", nan, v1alpha1.AnalysisPhaseError},
		{"NaN inside a struct list", "", "result[0].Values[0] > 1", []series{{Values: []float64{nan}}}, v1alpha1.AnalysisPhaseError},
		{"NaN in a map", "", "result.a > 1", map[string]any{"a": nan}, v1alpha1.AnalysisPhaseError},
		{"success condition false on NaN fails as before", "result[0] >= 0.95", "", []float64{nan}, v1alpha1.AnalysisPhaseFailed},
		{"isNaN in the success condition decides", "isNaN(result[0]) || result[0] >= 0.95", "", []float64{nan}, v1alpha1.AnalysisPhaseSuccessful},
		{"isNaN in the failure condition decides", "", "!isNaN(result[0]) && result[0] > 0.05", []float64{nan}, v1alpha1.AnalysisPhaseSuccessful},
		{"no NaN, no change", "", "result[0] > 0.05", []float64{0.01}, v1alpha1.AnalysisPhaseSuccessful},
	}
	for _, c := range cases {
		m := v1alpha1.Metric{Name: "m", SuccessCondition: c.success, FailureCondition: c.failure}
		got, err := Measurement(m, c.result)
		if got != c.want || (c.want == v1alpha1.AnalysisPhaseError) != (err == ErrNaN) {
			t.Errorf("%s: Measurement = %s, %v; want %s", c.name, got, err, c.want)
		}
	}
}
