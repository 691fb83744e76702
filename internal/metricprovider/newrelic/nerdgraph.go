package newrelic

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/metricprovider"
	"github.com/aviary-rollouts/aviary/internal/version"
)

// nrqlDocument asks for the rows of an NRQL query, the fields Argo
// Rollouts asks for.
const nrqlDocument = `query ($accountId: Int!, $query: Nrql!, $timeout: Seconds!) {
  actor {
    account(id: $accountId) {
      nrql(query: $query, timeout: $timeout) {
        results
      }
    }
  }
}`

type graphQLRequest struct {
	Query     string         `json:"query"`
	Variables map[string]any `json:"variables"`
}

type graphQLError struct {
	Message    string `json:"message"`
	Extensions struct {
		ErrorClass string `json:"errorClass"`
		ErrorCode  string `json:"error_code"`
	} `json:"extensions"`
}

type nrqlResponse struct {
	Data struct {
		Actor struct {
			Account struct {
				NRQL struct {
					Results []map[string]any `json:"results"`
				} `json:"nrql"`
			} `json:"account"`
		} `json:"actor"`
	} `json:"data"`
	Errors []graphQLError `json:"errors"`
}

// query runs nrql with NerdGraph's timeout, giving up on the request after
// deadline.
func (a account) query(ctx context.Context, nrql string, timeout, deadline time.Duration) ([]map[string]any, error) {
	body, err := json.Marshal(graphQLRequest{Query: nrqlDocument, Variables: map[string]any{
		"accountId": a.id,
		"query":     nrql,
		"timeout":   int64(timeout / time.Second),
	}})
	if err != nil {
		return nil, fmt.Errorf("encode the request: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, deadline)
	defer cancel()
	req, err := metricprovider.NewRequest(ctx, http.MethodPost, a.url, bytes.NewReader(body), nil, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("API-Key", a.apiKey)
	req.Header.Set("User-Agent", "aviary/"+version.String())
	client, err := metricprovider.HTTPClient(ctx, false, v1alpha1.Authentication{})
	if err != nil {
		return nil, err
	}
	status, respBody, err := metricprovider.Send(client, req, deadline)
	if err != nil {
		return nil, err
	}
	var res nrqlResponse
	jsonErr := json.Unmarshal(respBody, &res)
	if err := a.failure(status, respBody, res.Errors, timeout); err != nil {
		return nil, err
	}
	if jsonErr != nil {
		return nil, fmt.Errorf("decode the response: %w", jsonErr)
	}
	return res.Data.Actor.Account.NRQL.Results, nil
}

// failure explains an answer that is not rows: a non-200 status or GraphQL
// errors (which NerdGraph also sends with 200, rate limits included). Rows
// that come with errors are not trusted. A deprecation notice is not an
// error, as New Relic's own client treats it.
func (a account) failure(status int, body []byte, gqlErrors []graphQLError, timeout time.Duration) error {
	var messages []string
	var auth, limited, timedOut bool
	for _, e := range gqlErrors {
		if strings.HasPrefix(e.Message, "This field is deprecated!") {
			continue
		}
		messages = append(messages, e.Message)
		switch {
		case e.Extensions.ErrorCode == "BAD_API_KEY" || e.Extensions.ErrorClass == "UNAUTHORIZED" || e.Extensions.ErrorClass == "FORBIDDEN":
			auth = true
		case e.Extensions.ErrorClass == "TOO_MANY_REQUESTS":
			limited = true
		case e.Extensions.ErrorClass == "TIMEOUT":
			timedOut = true
		}
	}
	if status == http.StatusOK && len(messages) == 0 {
		return nil
	}
	what := fmt.Sprintf("HTTP %d", status)
	if text := reason(messages, body); text != "" {
		what += ": " + text
	}
	switch {
	case auth || status == http.StatusUnauthorized || status == http.StatusForbidden:
		return fmt.Errorf("API key refused (%s): check %s in Secret %s (a User key with access to the account in %s)", what, APIKeyKey, a.secret, AccountIDKey)
	case limited || status == http.StatusTooManyRequests:
		return fmt.Errorf("rate limited (%s): measure less often (the metric's interval)", what)
	case timedOut:
		return fmt.Errorf("the NRQL query did not finish within its %s timeout (%s): raise the metric's timeout or narrow the query", timeout, what)
	case status >= 500:
		return fmt.Errorf("server error (%s)", what)
	case status != http.StatusOK:
		return fmt.Errorf("request rejected (%s)", what)
	}
	return fmt.Errorf("query failed (%s)", what)
}

// reason is the GraphQL error messages, or else the start of the body on
// one line.
func reason(messages []string, body []byte) string {
	if len(messages) > 0 {
		return strings.Join(messages, "; ")
	}
	text := strings.Join(strings.Fields(string(body)), " ")
	if len(text) > 200 {
		text = text[:200] + "…"
	}
	return text
}
