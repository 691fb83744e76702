package prometheus

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/metricprovider/awsconfig"
)

// sigv4Service is Amazon Managed Prometheus' signing name.
const sigv4Service = "aps"

// signer signs requests with SigV4 for Amazon Managed Prometheus.
type signer struct {
	creds  aws.CredentialsProvider
	region string
	v4     *v4.Signer
}

// signer returns the signer for a metric, or nil when its requests go
// unsigned. As in Argo Rollouts, only an address containing
// "aps-workspaces" with a sigv4 block is signed.
func (p *Provider) signer(ctx context.Context, address string, auth v1alpha1.Authentication) (*signer, error) {
	if auth.Sigv4 == (v1alpha1.Sigv4Config{}) || !strings.Contains(address, "aps-workspaces") {
		return nil, nil
	}
	// The signature lives in the Authorization header: another scheme
	// would overwrite it, or be overwritten.
	if auth.BasicAuth != nil || auth.OAuth2.TokenURL != "" {
		return nil, errors.New("set either sigv4 or basicAuth/oauth2 under authentication, not both: each needs the Authorization header")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if s := p.signers[auth.Sigv4]; s != nil {
		return s, nil
	}
	s, err := newSigner(ctx, auth.Sigv4)
	if err != nil {
		return nil, err
	}
	if p.signers == nil {
		p.signers = map[v1alpha1.Sigv4Config]*signer{}
	}
	p.signers[auth.Sigv4] = s
	return s, nil
}

// newSigner resolves credentials as Argo Rollouts does: the SDK's default
// chain (or the named profile), then the role to assume, if any.
func newSigner(ctx context.Context, c v1alpha1.Sigv4Config) (*signer, error) {
	var opts []func(*config.LoadOptions) error
	if c.Region != "" {
		opts = append(opts, config.WithRegion(c.Region))
	}
	if c.Profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(c.Profile))
	}
	cfg, err := awsconfig.Load(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("sigv4: load AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		return nil, errors.New("sigv4: no region: set authentication.sigv4.region, or AWS_REGION in the controller's environment")
	}
	creds := cfg.Credentials
	if c.RoleARN != "" {
		creds = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(cfg), c.RoleARN))
	}
	return &signer{creds: creds, region: cfg.Region, v4: v4.NewSigner()}, nil
}

// sign adds the SigV4 headers to req, whose body it reads and replaces.
func (s *signer) sign(req *http.Request) error {
	var body []byte
	if req.Body != nil {
		var err error
		if body, err = io.ReadAll(req.Body); err != nil {
			return fmt.Errorf("sigv4: read request body: %w", err)
		}
		req.Body.Close()
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	sum := sha256.Sum256(body)
	creds, err := s.creds.Retrieve(req.Context())
	if err != nil {
		return fmt.Errorf("sigv4: get AWS credentials: %w", err)
	}
	if err := s.v4.SignHTTP(req.Context(), creds, req, hex.EncodeToString(sum[:]), sigv4Service, s.region, time.Now()); err != nil {
		return fmt.Errorf("sigv4: sign request: %w", err)
	}
	return nil
}
