// Package dashboard runs `kubectl argo rollouts dashboard` end to end: the
// CLI binary serves the dashboard against the local cluster, a real
// headless Chromium drives its page as a person would, and what the page
// shows and does is checked against the API server. The REST API's
// security (CSRF token, Host check, loopback listener) is checked with
// plain HTTP requests.
package dashboard

import (
	"testing"

	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

func TestMain(m *testing.M) { framework.Main(m) }
