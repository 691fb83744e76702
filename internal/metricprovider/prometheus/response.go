package prometheus

import (
	"encoding/json"
	"fmt"
)

// errorBody reads Prometheus' error answer, {"status":"error",
// "errorType":…,"error":…}, from a body the client did not decode.
func errorBody(body string) (error, bool) {
	var e struct {
		Status    string `json:"status"`
		ErrorType string `json:"errorType"`
		Error     string `json:"error"`
	}
	if json.Unmarshal([]byte(body), &e) != nil || e.Status != "error" {
		return nil, false
	}
	return fmt.Errorf("%s: %s", e.ErrorType, e.Error), true
}
