package prometheus

import (
	"fmt"
	"io"
	"net/http"
	"sync/atomic"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/metricprovider"
)

var errBodyTooLarge = fmt.Errorf("response body is larger than %d bytes", metricprovider.MaxBodyBytes)

// transport dresses each request the Prometheus client sends with the
// metric's headers, basic authentication and, for Amazon Managed
// Prometheus, a SigV4 signature (last, so it covers the headers). It also
// notes the last answer's status, which the client's errors leave out,
// and bounds the body the client reads whole into memory.
type transport struct {
	next    http.RoundTripper
	headers []v1alpha1.WebMetricHeader
	basic   *v1alpha1.BasicAuth
	sign    *signer
	status  atomic.Int32
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	// A RoundTripper must leave the caller's request as it was.
	req = req.Clone(req.Context())
	for _, h := range t.headers {
		req.Header.Set(h.Key, h.Value)
	}
	if t.basic != nil {
		req.SetBasicAuth(t.basic.Username, t.basic.Password)
	}
	if t.sign != nil {
		if err := t.sign.sign(req); err != nil {
			return nil, err
		}
	}
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	t.status.Store(int32(resp.StatusCode))
	resp.Body = &limitedBody{ReadCloser: resp.Body, left: metricprovider.MaxBodyBytes}
	return resp, nil
}

func (t *transport) lastStatus() int {
	return int(t.status.Load())
}

// limitedBody fails a read past left bytes instead of truncating: a cut
// JSON answer would only fail later with a less helpful message.
type limitedBody struct {
	io.ReadCloser
	left int64
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// One byte more tells a body of exactly the limit from a longer one.
		var one [1]byte
		n, err := b.ReadCloser.Read(one[:])
		if n > 0 {
			return 0, errBodyTooLarge
		}
		return 0, err
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.ReadCloser.Read(p)
	b.left -= int64(n)
	return n, err
}
