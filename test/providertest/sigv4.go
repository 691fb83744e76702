package providertest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// SigV4 is what a stand-in of an AWS service expects of a signed request.
type SigV4 struct {
	AccessKeyID, SecretAccessKey string
	// SessionToken is expected in X-Amz-Security-Token when set (temporary
	// credentials, such as an assumed role's).
	SessionToken    string
	Region, Service string
	// MustSign lists headers (lower case) that must be among the signed ones
	// beyond host and x-amz-date.
	MustSign []string
}

// AWSEnv gives the AWS SDK's default chain c's static credentials and
// region, and keeps it away from anything on the machine running the test:
// shared config and credentials files, instance metadata, web identity,
// container credentials and endpoint overrides.
func AWSEnv(t *testing.T, c SigV4) {
	t.Helper()
	none := filepath.Join(t.TempDir(), "none")
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": c.AccessKeyID, "AWS_SECRET_ACCESS_KEY": c.SecretAccessKey, "AWS_SESSION_TOKEN": c.SessionToken,
		"AWS_REGION": c.Region, "AWS_DEFAULT_REGION": "", "AWS_PROFILE": "", "AWS_DEFAULT_PROFILE": "",
		"AWS_CONFIG_FILE": none, "AWS_SHARED_CREDENTIALS_FILE": none, "AWS_EC2_METADATA_DISABLED": "true",
		"AWS_ROLE_ARN": "", "AWS_WEB_IDENTITY_TOKEN_FILE": "",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI": "", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "",
		"AWS_ENDPOINT_URL": "", "AWS_ENDPOINT_URL_CLOUDWATCH": "", "AWS_ENDPOINT_URL_STS": "",
	} {
		t.Setenv(k, v)
	}
}

// CheckSigV4 verifies r's AWS Signature Version 4 from first principles, as
// AWS documents it (canonical request, string to sign, derived key), so
// that a request signed with the wrong key, region, service, time or body,
// or altered after signing, is refused. body is r's body, already read.
// It is written apart from the SDK's signer on purpose: checking the SDK
// with itself would prove nothing.
func CheckSigV4(r *http.Request, body []byte, want SigV4) error {
	auth := r.Header.Get("Authorization")
	algorithm, rest, _ := strings.Cut(auth, " ")
	if algorithm != "AWS4-HMAC-SHA256" {
		return fmt.Errorf("authorization %q is not AWS4-HMAC-SHA256", algorithm)
	}
	fields := map[string]string{}
	for _, part := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		fields[k] = v
	}
	credential := strings.Split(fields["Credential"], "/")
	if len(credential) != 5 || credential[4] != "aws4_request" {
		return fmt.Errorf("credential %q is not key/date/region/service/aws4_request", fields["Credential"])
	}
	key, day, region, service := credential[0], credential[1], credential[2], credential[3]
	if key != want.AccessKeyID || region != want.Region || service != want.Service {
		return fmt.Errorf("signed by key %s for %s in %s, want key %s for %s in %s", key, service, region, want.AccessKeyID, want.Service, want.Region)
	}
	amzDate := r.Header.Get("X-Amz-Date")
	at, err := time.Parse("20060102T150405Z", amzDate)
	if err != nil || amzDate[:8] != day {
		return fmt.Errorf("X-Amz-Date %q does not match the credential's day %s", amzDate, day)
	}
	if skew := time.Since(at); skew > 5*time.Minute || skew < -5*time.Minute {
		return fmt.Errorf("signed at %s, %s away from now", at, skew)
	}
	if got := r.Header.Get("X-Amz-Security-Token"); got != want.SessionToken {
		return fmt.Errorf("X-Amz-Security-Token %q, want %q", got, want.SessionToken)
	}
	signed := strings.Split(fields["SignedHeaders"], ";")
	for _, h := range append([]string{"host", "x-amz-date"}, want.MustSign...) {
		if !contains(signed, h) {
			return fmt.Errorf("header %s is not signed (signed: %s)", h, fields["SignedHeaders"])
		}
	}
	if want.SessionToken != "" && !contains(signed, "x-amz-security-token") {
		return fmt.Errorf("the session token is not signed (signed: %s)", fields["SignedHeaders"])
	}

	sum := sha256.Sum256(body)
	payload := hex.EncodeToString(sum[:])
	if h := r.Header.Get("X-Amz-Content-Sha256"); h != "" && h != payload {
		return fmt.Errorf("X-Amz-Content-Sha256 %s is not the body's hash %s", h, payload)
	}
	var canonical strings.Builder
	canonical.WriteString(r.Method + "\n")
	canonical.WriteString(escape(r.URL.EscapedPath(), false) + "\n")
	canonical.WriteString(canonicalQuery(r.URL.Query()) + "\n")
	for _, h := range signed {
		canonical.WriteString(h + ":" + headerValue(r, h) + "\n")
	}
	canonical.WriteString("\n" + fields["SignedHeaders"] + "\n" + payload)

	scope := strings.Join(credential[1:], "/")
	request := sha256.Sum256([]byte(canonical.String()))
	toSign := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(request[:])
	k := []byte("AWS4" + want.SecretAccessKey)
	for _, part := range credential[1:] {
		k = mac(k, part)
	}
	if expected := hex.EncodeToString(mac(k, toSign)); !hmac.Equal([]byte(expected), []byte(fields["Signature"])) {
		return fmt.Errorf("signature does not match the request (canonical request:\n%s)", canonical.String())
	}
	return nil
}

func mac(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// headerValue is a signed header's canonical value: values trimmed, inner
// spaces folded, joined by commas.
func headerValue(r *http.Request, name string) string {
	var values []string
	switch name {
	case "host":
		values = []string{r.Host}
	case "content-length":
		values = []string{fmt.Sprint(r.ContentLength)}
	default:
		values = r.Header.Values(name)
	}
	folded := make([]string, len(values))
	for i, v := range values {
		folded[i] = strings.Join(strings.Fields(v), " ")
	}
	return strings.Join(folded, ",")
}

// canonicalQuery sorts parameters by name, then value, each encoded the
// AWS way (%20 for a space, unreserved characters left alone).
func canonicalQuery(q url.Values) string {
	var pairs []string
	for k, vs := range q {
		for _, v := range vs {
			pairs = append(pairs, escape(k, true)+"="+escape(v, true))
		}
	}
	sort.Strings(pairs)
	return strings.Join(pairs, "&")
}

// escape percent-encodes every byte but the unreserved ones (and '/',
// unless slash is set).
func escape(s string, slash bool) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		unreserved := 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || strings.IndexByte("-._~", c) >= 0
		if unreserved || c == '/' && !slash {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}
