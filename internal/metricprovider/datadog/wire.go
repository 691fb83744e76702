package datadog

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/metricprovider"
)

// result is a decoded answer: the condition input (a float64, or nil for
// no data) and its display form for the measurement's value.
type result struct {
	result any
	value  string
}

// scalarRequest is the body of POST /api/v2/query/scalar.
type scalarRequest struct {
	Data struct {
		Type       string `json:"type"`
		Attributes struct {
			From     int64               `json:"from"`
			To       int64               `json:"to"`
			Queries  []map[string]string `json:"queries"`
			Formulas []map[string]string `json:"formulas"`
		} `json:"attributes"`
	} `json:"data"`
}

// send asks Datadog within the request timeout and decodes its answer.
func (q query) send(ctx context.Context, creds credentials) (result, error) {
	endpoint, err := q.endpoint(creds.baseURL())
	if err != nil {
		return result{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, q.timeout)
	defer cancel()
	req, err := q.request(ctx, endpoint)
	if err != nil {
		return result{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("DD-API-KEY", creds.apiKey)
	req.Header.Set("DD-APPLICATION-KEY", creds.appKey)
	client, err := metricprovider.HTTPClient(ctx, false, v1alpha1.Authentication{})
	if err != nil {
		return result{}, err
	}
	status, body, err := metricprovider.Send(client, req, q.timeout)
	if err != nil {
		return result{}, err
	}
	if status != http.StatusOK {
		return result{}, statusError(status, body, creds.source)
	}
	if q.version == apiV1 {
		return decodeV1(body)
	}
	return decodeV2(body)
}

func (q query) request(ctx context.Context, endpoint string) (*http.Request, error) {
	if q.version == apiV1 {
		params := url.Values{
			"query": {q.cfg.Query},
			"from":  {strconv.FormatInt(q.from.Unix(), 10)},
			"to":    {strconv.FormatInt(q.to.Unix(), 10)},
		}
		return metricprovider.NewRequest(ctx, http.MethodGet, endpoint+"?"+params.Encode(), nil, nil, nil)
	}
	body, err := json.Marshal(q.scalarRequest())
	if err != nil {
		return nil, fmt.Errorf("encode the v2 request: %w", err)
	}
	return metricprovider.NewRequest(ctx, http.MethodPost, endpoint, bytes.NewReader(body), nil, nil)
}

// scalarRequest reduces every query with the aggregator over the window; a
// lone query is named "query", as Argo Rollouts names it.
func (q query) scalarRequest() scalarRequest {
	queries := q.cfg.Queries
	if q.cfg.Query != "" {
		queries = map[string]string{"query": q.cfg.Query}
	}
	names := make([]string, 0, len(queries))
	for name := range queries {
		names = append(names, name)
	}
	sort.Strings(names)
	var r scalarRequest
	r.Data.Type = "scalar_request"
	a := &r.Data.Attributes
	a.From, a.To = q.from.UnixMilli(), q.to.UnixMilli()
	a.Queries = make([]map[string]string, 0, len(names))
	for _, name := range names {
		a.Queries = append(a.Queries, map[string]string{
			"data_source": "metrics",
			"name":        name,
			"query":       queries[name],
			"aggregator":  q.cfg.AggregatorOrDefault(),
		})
	}
	a.Formulas = []map[string]string{}
	if q.cfg.Formula != "" {
		a.Formulas = append(a.Formulas, map[string]string{"formula": q.cfg.Formula})
	}
	return r
}

// statusError explains a non-200 answer, with the reason Datadog gives.
// Authentication failures name where the keys came from, never the keys.
func statusError(status int, body []byte, source string) error {
	what := fmt.Sprintf("HTTP %d", status)
	if reason := errorText(body); reason != "" {
		what += ": " + reason
	}
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return fmt.Errorf("credentials refused (%s): check that the %s hold a valid API key and an application key allowed to query metrics", what, source)
	case status == http.StatusTooManyRequests:
		return fmt.Errorf("rate limited (%s): measure less often (the metric's interval) or ask Datadog for a higher limit", what)
	case status >= 500:
		return fmt.Errorf("server error (%s)", what)
	}
	return fmt.Errorf("query rejected (%s)", what)
}

// errorText is the reason in a Datadog error body: {"errors": [...]},
// {"errors": "..."} or v1's {"status": "error", "error": "..."}; otherwise
// the start of the body on one line.
func errorText(body []byte) string {
	var e struct {
		Errors json.RawMessage `json:"errors"`
		Error  string          `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil {
		if text := errorsField(e.Errors); text != "" {
			return text
		}
		if e.Error != "" {
			return e.Error
		}
	}
	text := strings.Join(strings.Fields(string(body)), " ")
	if len(text) > 200 {
		text = text[:200] + "…"
	}
	return text
}

// errorsField reads an "errors" member, a string or a list of strings.
func errorsField(raw json.RawMessage) string {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return one
	}
	var many []string
	if json.Unmarshal(raw, &many) == nil {
		return strings.Join(many, "; ")
	}
	return ""
}

// v1Series is a v1 series as far as it is used: points are [time, value]
// and a value may be null (no data in that interval).
type v1Series struct {
	Pointlist [][]*float64 `json:"pointlist"`
}

// decodeV1 takes the last point of the first series. Null points are
// skipped; a series with no points, or only null ones, is no data.
func decodeV1(body []byte) (result, error) {
	var res struct {
		Status string     `json:"status"`
		Error  string     `json:"error"`
		Series []v1Series `json:"series"`
	}
	if err := json.Unmarshal(body, &res); err != nil {
		return result{}, fmt.Errorf("decode the v1 response: %w", err)
	}
	if res.Status == "error" || res.Error != "" {
		return result{}, fmt.Errorf("query failed: %s", res.Error)
	}
	if len(res.Series) > 0 {
		points := res.Series[0].Pointlist
		for i := len(points) - 1; i >= 0; i-- {
			if len(points[i]) != 2 {
				return result{}, fmt.Errorf("a point of the series has %d values, not [time, value]", len(points[i]))
			}
			if v := points[i][1]; v != nil {
				return result{result: *v, value: strconv.FormatFloat(*v, 'f', -1, 64)}, nil
			}
		}
	}
	// No data: recorded as Argo Rollouts records it, the series as sent.
	value, err := json.Marshal(res.Series)
	if err != nil {
		return result{}, err
	}
	return result{value: string(value)}, nil
}

// v2Column is one column of a scalar response. A number column's values
// are numbers (null where a group has no data); a group column's are lists
// of tag values.
type v2Column struct {
	Name   string          `json:"name"`
	Type   string          `json:"type"`
	Values json.RawMessage `json:"values"`
}

// decodeV2 takes the first value of the first number column: the formula's
// result, or the lone query's. Errors reported with the data fail the
// measurement even if some values came back.
func decodeV2(body []byte) (result, error) {
	var res struct {
		Data struct {
			Attributes struct {
				Columns []v2Column `json:"columns"`
			} `json:"attributes"`
			// Argo Rollouts reads errors here; Datadog's API puts them
			// at the top level. Both are honoured.
			Errors json.RawMessage `json:"errors"`
		} `json:"data"`
		Errors json.RawMessage `json:"errors"`
	}
	if err := json.Unmarshal(body, &res); err != nil {
		return result{}, fmt.Errorf("decode the v2 response: %w", err)
	}
	for _, raw := range []json.RawMessage{res.Errors, res.Data.Errors} {
		if text := errorsField(raw); text != "" {
			return result{}, fmt.Errorf("errors in the answer: %s", text)
		}
	}
	for _, c := range res.Data.Attributes.Columns {
		if c.Type != "" && c.Type != "number" {
			continue
		}
		var values []*float64
		if err := json.Unmarshal(c.Values, &values); err != nil {
			return result{}, fmt.Errorf("decode the values of column %q: %w", c.Name, err)
		}
		if len(values) == 0 || values[0] == nil {
			return result{value: compact(c.Values, "[]")}, nil
		}
		v := *values[0]
		return result{result: v, value: strconv.FormatFloat(v, 'f', -1, 64)}, nil
	}
	return result{value: "[]"}, nil
}

// compact is raw JSON without spaces, or empty when raw is absent.
func compact(raw json.RawMessage, empty string) string {
	var b bytes.Buffer
	if len(raw) == 0 || json.Compact(&b, raw) != nil || b.String() == "null" {
		return empty
	}
	return b.String()
}
