package metricprovider

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// MaxBodyBytes bounds a response body read into memory: a metric answer is
// small, and a misdirected URL must not exhaust the controller.
const MaxBodyBytes = 10 << 20

// Transports are shared by every measurement so that connections to the same
// metrics server are reused across runs.
var (
	secureTransport   = newTransport(false)
	insecureTransport = newTransport(true)
)

func newTransport(insecure bool) *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = &tls.Config{InsecureSkipVerify: insecure}
	return t
}

// HTTPClient returns a client for a metric endpoint. insecure skips TLS
// verification. With auth.OAuth2 set, requests carry a bearer token obtained
// with client credentials; the token request runs under ctx, so give ctx the
// measurement's deadline. SigV4 is not handled here (see the providers).
func HTTPClient(ctx context.Context, insecure bool, auth v1alpha1.Authentication) (*http.Client, error) {
	base := &http.Client{Transport: secureTransport}
	if insecure {
		base.Transport = insecureTransport
	}
	o := auth.OAuth2
	if o.TokenURL == "" {
		return base, nil
	}
	if o.ClientID == "" || o.ClientSecret == "" {
		return nil, errors.New("oauth2 needs tokenUrl, clientId and clientSecret")
	}
	if auth.BasicAuth != nil {
		return nil, errors.New("set either oauth2 or basicAuth, not both")
	}
	cfg := clientcredentials.Config{ClientID: o.ClientID, ClientSecret: o.ClientSecret, TokenURL: o.TokenURL, Scopes: o.Scopes}
	return cfg.Client(context.WithValue(ctx, oauth2.HTTPClient, base)), nil
}

// NewRequest builds a request carrying the metric's headers and, if set,
// basic authentication (which wins over an Authorization header).
func NewRequest(ctx context.Context, method, rawURL string, body io.Reader, headers []v1alpha1.WebMetricHeader, basic *v1alpha1.BasicAuth) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, rawURL, body)
	if err != nil {
		// The url package quotes the whole URL, which may hold a secret.
		return nil, fmt.Errorf("invalid request to %s", RedactURL(rawURL))
	}
	for _, h := range headers {
		req.Header.Set(h.Key, h.Value)
	}
	if basic != nil {
		req.SetBasicAuth(basic.Username, basic.Password)
	}
	return req, nil
}

// Send sends req and reads the response body, up to MaxBodyBytes. Transport
// errors lose the method and URL the http package repeats (callers say what
// they were calling), and a passed deadline is reported as the timeout.
func Send(client *http.Client, req *http.Request, timeout time.Duration) (status int, body []byte, err error) {
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, TransportError(err, timeout)
	}
	defer resp.Body.Close()
	body, err = io.ReadAll(io.LimitReader(resp.Body, MaxBodyBytes+1))
	if err != nil {
		return resp.StatusCode, nil, fmt.Errorf("read response: %w", TransportError(err, timeout))
	}
	if len(body) > MaxBodyBytes {
		return resp.StatusCode, nil, fmt.Errorf("response body is larger than %d bytes", MaxBodyBytes)
	}
	return resp.StatusCode, body, nil
}

// TransportError describes a failed exchange for a status message: a
// passed deadline as the timeout, and a *url.Error without the method and
// URL it repeats.
func TransportError(err error, timeout time.Duration) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("no response within the %s timeout", timeout)
	}
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		return urlErr.Err
	}
	return err
}

// CheckAddress reports a server address that is missing or not an
// absolute URL; kind names the server in the message.
func CheckAddress(kind, address string) error {
	if address == "" {
		return fmt.Errorf("%s address is not configured", kind)
	}
	if u, err := url.Parse(address); err != nil || u.Scheme == "" || u.Host == "" {
		return fmt.Errorf("%s address %s is not a URL", kind, RedactURL(address))
	}
	return nil
}

// RedactURL is rawURL fit for a status message: without user information,
// query or fragment, any of which may carry a credential.
func RedactURL(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "(unparsable URL)"
	}
	u.User = nil
	u.RawQuery = ""
	u.ForceQuery = false
	u.Fragment = ""
	u.RawFragment = ""
	return u.String()
}

// StatusError describes a non-2xx answer, with the start of its body when it
// has one: servers usually say there what went wrong.
func StatusError(status int, body []byte) error {
	// One line for a status message, whatever the server's layout.
	text := truncate(strings.Join(strings.Fields(string(body)), " "), 200)
	if text == "" {
		return fmt.Errorf("received non-2xx response code %d", status)
	}
	return fmt.Errorf("received non-2xx response code %d: %s", status, text)
}
