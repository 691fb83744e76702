package prometheus

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/aviary-rollouts/aviary/internal/metricprovider"
)

// queryResult is a decoded answer: the condition input, its display form
// for the measurement's value, and any warnings.
type queryResult struct {
	result   any
	value    string
	warnings []string
}

// envelope is the body of every Prometheus HTTP API answer.
type envelope struct {
	Status    string          `json:"status"`
	Data      json.RawMessage `json:"data"`
	ErrorType string          `json:"errorType"`
	Error     string          `json:"error"`
	Warnings  []string        `json:"warnings"`
}

type queryData struct {
	ResultType string          `json:"resultType"`
	Result     json.RawMessage `json:"result"`
}

// point is a [unix time, "value"] pair.
type point []json.RawMessage

// decode turns an HTTP answer into a result. Prometheus reports query
// errors as {"status":"error"} bodies on 4xx/5xx codes; any other non-2xx
// answer comes from something in between, and is reported by its code.
func decode(status int, body []byte) (queryResult, error) {
	var env envelope
	jsonErr := json.Unmarshal(body, &env)
	if jsonErr == nil && env.Status == "error" {
		return queryResult{}, fmt.Errorf("%s: %s", env.ErrorType, env.Error)
	}
	if status/100 != 2 {
		return queryResult{}, metricprovider.StatusError(status, body)
	}
	if jsonErr != nil {
		return queryResult{}, fmt.Errorf("decode response: %w", jsonErr)
	}
	if env.Status != "success" {
		return queryResult{}, fmt.Errorf("unexpected response status %q", env.Status)
	}
	var data queryData
	if err := json.Unmarshal(env.Data, &data); err != nil {
		return queryResult{}, fmt.Errorf("decode response data: %w", err)
	}
	res, err := decodeResult(data)
	if err != nil {
		return queryResult{}, fmt.Errorf("decode %s result: %w", data.ResultType, err)
	}
	res.warnings = env.Warnings
	return res, nil
}

func decodeResult(data queryData) (queryResult, error) {
	switch data.ResultType {
	case "vector":
		var series []struct {
			Value point `json:"value"`
		}
		if err := json.Unmarshal(data.Result, &series); err != nil {
			return queryResult{}, err
		}
		var points []point
		for _, s := range series {
			points = append(points, s.Value)
		}
		return floats(points)
	case "matrix":
		var series []struct {
			Values []point `json:"values"`
		}
		if err := json.Unmarshal(data.Result, &series); err != nil {
			return queryResult{}, err
		}
		var points []point
		for _, s := range series {
			points = append(points, s.Values...)
		}
		return floats(points)
	case "scalar":
		var p point
		if err := json.Unmarshal(data.Result, &p); err != nil {
			return queryResult{}, err
		}
		f, err := p.float()
		if err != nil {
			return queryResult{}, err
		}
		return queryResult{result: f, value: formatFloat(f)}, nil
	case "string":
		var p point
		if err := json.Unmarshal(data.Result, &p); err != nil {
			return queryResult{}, err
		}
		s, err := p.text()
		return queryResult{result: s, value: s}, err
	default:
		return queryResult{}, errors.New("result type not supported")
	}
}

// floats flattens samples into the []float64 conditions index. A sample
// without a float value (a native histogram) has no number to offer and is
// left out. No samples give an empty list, not nil, as in Argo Rollouts:
// `len(result) == 0` guards keep working, and indexing reports no data.
func floats(points []point) (queryResult, error) {
	values := make([]float64, 0, len(points))
	shown := make([]string, 0, len(points))
	for _, p := range points {
		if p == nil {
			continue
		}
		f, err := p.float()
		if err != nil {
			return queryResult{}, err
		}
		values = append(values, f)
		shown = append(shown, formatFloat(f))
	}
	return queryResult{result: values, value: "[" + strings.Join(shown, ",") + "]"}, nil
}

func (p point) text() (string, error) {
	if len(p) != 2 {
		return "", fmt.Errorf("sample %s is not a [time, value] pair", joinRaw(p))
	}
	var s string
	if err := json.Unmarshal(p[1], &s); err != nil {
		return "", fmt.Errorf("sample value %s is not a string", p[1])
	}
	return s, nil
}

// float parses a sample value; Prometheus sends numbers as strings so that
// "NaN" and "+Inf" survive JSON.
func (p point) float() (float64, error) {
	s, err := p.text()
	if err != nil {
		return 0, err
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("sample value %q is not a number", s)
	}
	return f, nil
}

func joinRaw(p point) string {
	parts := make([]string, len(p))
	for i, r := range p {
		parts[i] = string(r)
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// formatFloat writes a sample as Prometheus does: shortest decimal form,
// with NaN and ±Inf spelled out.
func formatFloat(f float64) string {
	return strconv.FormatFloat(f, 'f', -1, 64)
}
