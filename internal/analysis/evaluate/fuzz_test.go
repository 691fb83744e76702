package evaluate

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/expr-lang/expr"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// fuzzResult builds a provider result of the shape shape selects: what the
// web provider decodes from a JSON body (data), a Prometheus scalar or
// vector around n (NaN and the infinities included), an empty or nil
// vector, nil, a pointer, a string body, a map, nested lists, a matrix,
// integers.
func fuzzResult(shape uint8, data []byte, n float64) any {
	switch shape % 14 {
	case 0:
		var v any
		if json.Unmarshal(data, &v) != nil {
			return string(data)
		}
		return v
	case 1:
		return n
	case 2:
		return []float64{n}
	case 3:
		return []float64{n, math.NaN(), math.Inf(1), math.Inf(-1), math.Copysign(0, -1)}
	case 4:
		return []float64{}
	case 5:
		return []float64(nil)
	case 6:
		return nil
	case 7:
		return &n
	case 8:
		return string(data)
	case 9:
		return map[string]any{"value": n, "values": []any{n, string(data)}, "ok": n > 0, "nested": map[string]any{"list": []any{[]any{n}}}}
	case 10:
		return []any{[]any{n, []any{}}, map[string]any{}, nil}
	case 11:
		return [][]float64{{n}, {}}
	case 12:
		return int64(n)
	}
	return uint8(len(data))
}

// FuzzCondition evaluates a fuzzed success or failure condition against
// result shapes a provider can return. Properties: no panic; a condition
// that does not compile is an error whatever the result (and never the
// no-data error); the cached program runs as the fresh one did; Measurement gives a phase, Error exactly when a
// condition fails to evaluate.
func FuzzCondition(f *testing.F) {
	seeds := []struct {
		expression string
		data       string
		shape      uint8
		n          float64
	}{
		// Seed conditions, as the examples write them.
		{"result[0] >= 0.95", "", 2, 0.97},
		{"result[0] <= 0.95", "", 2, 0.01},
		{"result[0] > 0.90", "", 3, 0.91},
		{"result == 'true'", "true", 8, 0},
		{"result == 'true'", "true", 0, 0},
		{"result.ok && result.successPercent >= 0.90", `{"ok": true, "successPercent": 0.93}`, 0, 0},
		{"all(result.service_apdex.values.values, {asFloat(.value) >= 9900})", `{"service_apdex": {"label": null, "values": {"values": [{"value": 10000}, {"value": 9950}]}}}`, 0, 0},
		{"len(result) == 0 || result[0] > 1", "", 4, 0},
		{"isNaN(result) || isInf(result)", "", 1, math.NaN()},
		{"isInf(result[0]) && isInf(result[1])", "", 3, math.Inf(-1)},
		{"asInt(result) == 42", "42", 8, 0},
		{"asFloat(result) < 0.6", "NaN", 8, 0},
		{"isNil(result) || default(result.missing, 0.9) >= 0.9", "{}", 0, 0},
		{"default(result, 5) > 4", "", 6, 0},
		{"result == nil", "", 7, 1.5},
		{"len(filter(result, {# > 0.5})) == 2", "", 3, 0.7},
		{"sum(map(result, {# * 2})) == 6", "[1, 2]", 0, 0},
		{"result matches '^2..$'", "204", 8, 0},
		{"lower(trim(result)) == 'ok'", " OK ", 8, 0},
		{"result.nested.list[0][0] / 0 > 1", "", 9, 0},
		{"result[0][1][0] == 1", "", 10, 0},
		{"len(result[1]) == 0 && result[0][0] != result[0][0]", "", 11, math.NaN()},
		{"result % 0 == 1", "", 12, 7},
		// Broken conditions.
		{"result[0] >=", "", 6, 0},
		{"avg2(result) > 1", "", 2, 1},
		{"result[3] > 1", "", 2, 1},
		{"'yes'", "", 1, 1},
		{"asInt(result) > 1", "[1]", 0, 0},
		{"1..1000000000 | all(# > 0)", "", 1, 0},
		{`repeat("x", 1000000000) != ""`, "", 1, 0},
		{"result matches '(a'", "a", 8, 0},
		{"int(result) > 0", "", 1, math.Inf(1)},
	}
	for _, s := range seeds {
		f.Add(s.expression, []byte(s.data), s.shape, s.n)
	}
	f.Fuzz(func(t *testing.T, expression string, data []byte, shape uint8, n float64) {
		_, compileErr := expr.Compile(expression, expr.Env(conditionEnv{}))
		got, err := Condition(expression, fuzzResult(shape, data, n))
		if err != nil && got {
			t.Fatalf("Condition(%q) = true with error %v", expression, err)
		}
		if compileErr != nil && (err == nil || errors.Is(err, ErrNoData)) {
			t.Fatalf("Condition(%q) does not compile (%v) but returned %v, %v", expression, compileErr, got, err)
		}
		if err != nil && !strings.Contains(expression, "\n") && shape%14 != 0 && shape%14 != 8 && shape%14 != 9 && strings.Contains(err.Error(), "\n") {
			t.Errorf("Condition(%q) error spans lines: %q", expression, err)
		}
		// The second evaluation runs the cached program (its answer may
		// differ: now() moves on and keys() has no order).
		if again, err := Condition(expression, fuzzResult(shape, data, n)); err != nil && again {
			t.Fatalf("Condition(%q) = true with error %v from the cache", expression, err)
		}

		m := v1alpha1.Metric{Name: "m", SuccessCondition: expression, FailureCondition: "!(" + expression + ")"}
		phase, err := Measurement(m, fuzzResult(shape, data, n))
		switch phase {
		case v1alpha1.AnalysisPhaseSuccessful, v1alpha1.AnalysisPhaseFailed, v1alpha1.AnalysisPhaseInconclusive:
			if err != nil {
				t.Fatalf("Measurement: phase %s with error %v", phase, err)
			}
		case v1alpha1.AnalysisPhaseError:
			if err == nil {
				t.Fatal("Measurement: phase Error without an error")
			}
		default:
			t.Fatalf("Measurement: phase %q", phase)
		}
	})
}

// FuzzTime evaluates a fuzzed range-query time expression. Properties: no
// panic; either a time or an error.
func FuzzTime(f *testing.F) {
	for _, s := range []string{
		"now()",
		"now() - duration('5m')",
		`now() - duration("1h30m")`,
		"isNaN(1.0) ? now() : now() + duration('1m')",
		"duration('x')",
		"now() -",
		`date("2024-01-01T00:00:00Z")`,
		`date("2024-01-01", "2006-01-02", "Europe/Nowhere")`,
		"now() + duration('2562047h') + duration('2562047h')",
		"now().Add(-1)",
		"now() - now()",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, expression string) {
		got, err := Time(expression)
		if err != nil && !got.IsZero() {
			t.Fatalf("Time(%q) = %v with error %v", expression, got, err)
		}
	})
}
