package prometheus

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/test/providertest"
)

const (
	keyID   = "AKIAIOSFODNN7EXAMPLE"
	secret  = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	roleARN = "arn:aws:iam::123456789012:role/amp-query"
	// workspace is an Amazon Managed Prometheus workspace's path on the
	// stand-in; "aps-workspaces" in the address is what turns signing on.
	workspace = "/aps-workspaces/workspaces/ws-5d1c2e3f"
)

// Temporary credentials the STS stand-in hands out for roleARN.
var assumed = providertest.SigV4{AccessKeyID: "ASIAIOSFODNN7ASSUMED", SecretAccessKey: "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY", SessionToken: "FwoGZXIvYXdzEXAMPLETOKEN"}

// amp is a stand-in for an Amazon Managed Prometheus workspace and for STS.
// Requests to the workspace must be signed with want; AssumeRole calls,
// with the environment's credentials for the service "sts".
type amp struct {
	*httptest.Server
	t    *testing.T
	want providertest.SigV4
	// refusePost answers POST queries 405, as a proxy might.
	refusePost bool

	mu      sync.Mutex
	methods []string
	assumes int
}

func newAMP(t *testing.T, want providertest.SigV4) *amp {
	a := &amp{t: t, want: want}
	a.Server = httptest.NewServer(a)
	t.Cleanup(a.Close)
	return a
}

func (a *amp) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if r.URL.Path == "/" {
		a.assumeRole(w, r, body)
		return
	}
	a.mu.Lock()
	a.methods = append(a.methods, r.Method)
	a.mu.Unlock()
	if r.URL.Path != workspace+"/api/v1/query" {
		a.t.Errorf("path %s, want %s/api/v1/query", r.URL.Path, workspace)
	}
	want := a.want
	want.Service = "aps"
	want.MustSign = []string{"x-scope-orgid"}
	if r.Method == http.MethodPost {
		want.MustSign = append(want.MustSign, "content-type")
	}
	if err := providertest.CheckSigV4(r, body, want); err != nil {
		// Amazon Managed Prometheus answers as API Gateway does.
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		io.WriteString(w, `{"message":"The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."}`)
		a.t.Logf("refused: %v", err)
		return
	}
	if a.refusePost && r.Method == http.MethodPost {
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	io.WriteString(w, vectorOne)
}

// assumeRole answers STS AssumeRole in the AWS query protocol.
func (a *amp) assumeRole(w http.ResponseWriter, r *http.Request, body []byte) {
	a.mu.Lock()
	a.assumes++
	a.mu.Unlock()
	env := providertest.SigV4{AccessKeyID: keyID, SecretAccessKey: secret, Region: a.want.Region, Service: "sts", MustSign: []string{"content-type"}}
	if err := providertest.CheckSigV4(r, body, env); err != nil {
		a.t.Errorf("AssumeRole: %v", err)
	}
	form, err := url.ParseQuery(string(body))
	if err != nil || form.Get("Action") != "AssumeRole" || form.Get("Version") != "2011-06-15" || form.Get("RoleArn") != roleARN || form.Get("RoleSessionName") == "" {
		a.t.Errorf("AssumeRole form %v (%v)", form, err)
	}
	w.Header().Set("Content-Type", "text/xml")
	fmt.Fprintf(w, `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleResult>
    <AssumedRoleUser>
      <Arn>arn:aws:sts::123456789012:assumed-role/amp-query/%s</Arn>
      <AssumedRoleId>AROA3XFRBF535PLBIFPI4:%s</AssumedRoleId>
    </AssumedRoleUser>
    <Credentials>
      <AccessKeyId>%s</AccessKeyId>
      <SecretAccessKey>%s</SecretAccessKey>
      <SessionToken>%s</SessionToken>
      <Expiration>%s</Expiration>
    </Credentials>
  </AssumeRoleResult>
  <ResponseMetadata>
    <RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId>
  </ResponseMetadata>
</AssumeRoleResponse>`, form.Get("RoleSessionName"), form.Get("RoleSessionName"), assumed.AccessKeyID, assumed.SecretAccessKey, assumed.SessionToken,
		time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
}

func ampMetric(address string, sigv4 v1alpha1.Sigv4Config) v1alpha1.Metric {
	m := metric(address, "result[0] >= 0.95", "")
	m.Provider.Prometheus.Headers = []v1alpha1.WebMetricHeader{{Key: "X-Scope-OrgID", Value: "team-a"}}
	m.Provider.Prometheus.Authentication.Sigv4 = sigv4
	return m
}

func TestSigV4(t *testing.T) {
	env := providertest.SigV4{AccessKeyID: keyID, SecretAccessKey: secret, Region: "eu-west-1"}
	profiles := filepath.Join(t.TempDir(), "credentials")
	err := os.WriteFile(profiles, []byte("[default]\naws_access_key_id = AKIADEFAULTEXAMPLE00\naws_secret_access_key = defaultSecretKeyEXAMPLE\n\n"+
		"[amp]\naws_access_key_id = AKIAPROFILEEXAMPLE00\naws_secret_access_key = profileSecretKeyEXAMPLE\n"), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name       string
		sigv4      v1alpha1.Sigv4Config
		want       providertest.SigV4
		setup      func(t *testing.T, a *amp)
		refusePost bool
		methods    string
		assumes    int
	}{
		{"environment credentials, region from the spec", v1alpha1.Sigv4Config{Region: "us-west-2"},
			providertest.SigV4{AccessKeyID: keyID, SecretAccessKey: secret, Region: "us-west-2"}, nil, false, "[POST POST]", 0},
		// A block without region (not empty: an empty one signs nothing).
		{"region from the environment", v1alpha1.Sigv4Config{Profile: "default"},
			providertest.SigV4{AccessKeyID: "AKIADEFAULTEXAMPLE00", SecretAccessKey: "defaultSecretKeyEXAMPLE", Region: "eu-west-1"},
			func(t *testing.T, _ *amp) { t.Setenv("AWS_SHARED_CREDENTIALS_FILE", profiles) }, false, "[POST POST]", 0},
		{"a profile", v1alpha1.Sigv4Config{Region: "us-east-2", Profile: "amp"},
			providertest.SigV4{AccessKeyID: "AKIAPROFILEEXAMPLE00", SecretAccessKey: "profileSecretKeyEXAMPLE", Region: "us-east-2"},
			func(t *testing.T, _ *amp) { t.Setenv("AWS_SHARED_CREDENTIALS_FILE", profiles) }, false, "[POST POST]", 0},
		{"an assumed role", v1alpha1.Sigv4Config{Region: "eu-west-1", RoleARN: roleARN},
			providertest.SigV4{AccessKeyID: assumed.AccessKeyID, SecretAccessKey: assumed.SecretAccessKey, SessionToken: assumed.SessionToken, Region: "eu-west-1"},
			func(t *testing.T, a *amp) { t.Setenv("AWS_ENDPOINT_URL_STS", a.URL) }, false, "[POST POST]", 1},
		{"GET after a refused POST is signed too", v1alpha1.Sigv4Config{Region: "us-west-2"},
			providertest.SigV4{AccessKeyID: keyID, SecretAccessKey: secret, Region: "us-west-2"}, nil, true, "[POST GET POST GET]", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			providertest.AWSEnv(t, env)
			a := newAMP(t, c.want)
			a.refusePost = c.refusePost
			if c.setup != nil {
				c.setup(t, a)
			}
			p := New()
			m := ampMetric(a.URL+workspace, c.sigv4)
			for i := 0; i < 2; i++ {
				if got := run(t, p, m); got.Phase != v1alpha1.AnalysisPhaseSuccessful || got.Value != "[0.97]" {
					t.Fatalf("measurement %d: got %s %q %q", i, got.Phase, got.Value, got.Message)
				}
			}
			// Two measurements: a role is assumed once and its credentials kept.
			a.mu.Lock()
			defer a.mu.Unlock()
			if got := fmt.Sprint(a.methods); got != c.methods {
				t.Errorf("methods %s, want %s", got, c.methods)
			}
			if a.assumes != c.assumes {
				t.Errorf("%d AssumeRole calls, want %d", a.assumes, c.assumes)
			}
		})
	}
}

func TestSigV4Failures(t *testing.T) {
	env := providertest.SigV4{AccessKeyID: keyID, SecretAccessKey: secret, Region: "eu-west-1"}
	cases := []struct {
		name  string
		setup func(t *testing.T)
		sigv4 v1alpha1.Sigv4Config
		want  string // after "query prometheus at <address>: "
		calls int
	}{
		{"wrong secret", func(t *testing.T) { t.Setenv("AWS_SECRET_ACCESS_KEY", "wrong"+secret) }, v1alpha1.Sigv4Config{Region: "eu-west-1"},
			`received non-2xx response code 403: {"message":"The request signature we calculated does not match the signature you provided.`, 1},
		{"no credentials", func(t *testing.T) {
			t.Setenv("AWS_ACCESS_KEY_ID", "")
			t.Setenv("AWS_SECRET_ACCESS_KEY", "")
		}, v1alpha1.Sigv4Config{Region: "eu-west-1"}, "sigv4: get AWS credentials: failed to refresh cached credentials", 0},
		{"no region", func(t *testing.T) { t.Setenv("AWS_REGION", "") }, v1alpha1.Sigv4Config{RoleARN: roleARN},
			"sigv4: no region: set authentication.sigv4.region, or AWS_REGION in the controller's environment", 0},
		{"unknown profile", nil, v1alpha1.Sigv4Config{Region: "eu-west-1", Profile: "nobody"},
			"sigv4: load AWS configuration: failed to get shared config profile, nobody", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			providertest.AWSEnv(t, env)
			if c.setup != nil {
				c.setup(t)
			}
			a := newAMP(t, providertest.SigV4{AccessKeyID: keyID, SecretAccessKey: secret, Region: "eu-west-1"})
			got := run(t, New(), ampMetric(a.URL+workspace, c.sigv4))
			want := "query prometheus at " + a.URL + workspace + ": " + c.want
			if got.Phase != v1alpha1.AnalysisPhaseError || !strings.HasPrefix(got.Message, want) {
				t.Errorf("got %s %q, want Error %q", got.Phase, got.Message, want)
			}
			if strings.Contains(got.Message, secret) || strings.Contains(got.Message, "EXAMPLEKEY") {
				t.Errorf("message carries a secret key: %q", got.Message)
			}
			if len(a.methods) != c.calls {
				t.Errorf("%d queries reached the workspace, want %d", len(a.methods), c.calls)
			}
		})
	}
}

// As in Argo Rollouts, a sigv4 block signs only addresses of Amazon
// Managed Prometheus (containing "aps-workspaces"); others go unsigned.
func TestSigV4OnlyForManagedPrometheus(t *testing.T) {
	providertest.AWSEnv(t, providertest.SigV4{AccessKeyID: keyID, SecretAccessKey: secret, Region: "eu-west-1"})
	s := providertest.Serve(t, 200, vectorOne, func(r *http.Request) {
		if auth := r.Header.Get("Authorization"); auth != "" {
			t.Errorf("unsigned address got Authorization %q", auth)
		}
	})
	got := run(t, New(), ampMetric(s.URL+"/prometheus", v1alpha1.Sigv4Config{Region: "eu-west-1"}))
	if got.Phase != v1alpha1.AnalysisPhaseSuccessful {
		t.Errorf("got %s %q", got.Phase, got.Message)
	}
}

func TestCancelledBeforeSigning(t *testing.T) {
	providertest.AWSEnv(t, providertest.SigV4{AccessKeyID: keyID, SecretAccessKey: secret, Region: "eu-west-1"})
	a := newAMP(t, providertest.SigV4{AccessKeyID: keyID, SecretAccessKey: secret, Region: "eu-west-1"})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	got := New().Run(ctx, &v1alpha1.AnalysisRun{}, ampMetric(a.URL+workspace, v1alpha1.Sigv4Config{Region: "eu-west-1"}))
	if got.Phase != v1alpha1.AnalysisPhaseError || !strings.Contains(got.Message, "context canceled") {
		t.Errorf("got %s %q", got.Phase, got.Message)
	}
}
