// Package cloudwatchtest is a stand-in for Amazon CloudWatch's
// GetMetricData as the AWS SDK for Go v2 speaks to it: the Smithy RPC v2
// CBOR protocol (POST /service/GraniteServiceVersion20100801/operation/
// GetMetricData, CBOR bodies, errors as a CBOR {__type, message} map with
// the query-compatible X-Amzn-Query-Error header), signed with SigV4 for
// the "monitoring" service.
//
// Bodies are read and written with github.com/fxamacker/cbor, not the
// SDK's own codec, so a test proves the SDK meets the protocol rather than
// agreeing with itself.
package cloudwatchtest

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/fxamacker/cbor/v2"

	"github.com/aviary-rollouts/aviary/test/providertest"
)

// Path is where the SDK sends GetMetricData.
const Path = "/service/GraniteServiceVersion20100801/operation/GetMetricData"

// Request is a GetMetricData call as received. Fields are named as on the
// wire; a field the stand-in does not know makes ReadRequest fail.
type Request struct {
	StartTime         time.Time `cbor:"StartTime"`
	EndTime           time.Time `cbor:"EndTime"`
	NextToken         string    `cbor:"NextToken,omitempty"`
	ScanBy            string    `cbor:"ScanBy,omitempty"`
	MaxDatapoints     int       `cbor:"MaxDatapoints,omitempty"`
	MetricDataQueries []Query   `cbor:"MetricDataQueries"`
}

// Query is one MetricDataQuery.
type Query struct {
	Id         string      `cbor:"Id"`
	Expression string      `cbor:"Expression,omitempty"`
	Label      string      `cbor:"Label,omitempty"`
	MetricStat *MetricStat `cbor:"MetricStat,omitempty"`
	Period     int         `cbor:"Period,omitempty"`
	ReturnData *bool       `cbor:"ReturnData,omitempty"`
}

// MetricStat selects a metric and statistic.
type MetricStat struct {
	Metric Metric `cbor:"Metric"`
	Period int    `cbor:"Period"`
	Stat   string `cbor:"Stat"`
	Unit   string `cbor:"Unit,omitempty"`
}

// Metric names a metric.
type Metric struct {
	Namespace  string      `cbor:"Namespace,omitempty"`
	MetricName string      `cbor:"MetricName,omitempty"`
	Dimensions []Dimension `cbor:"Dimensions,omitempty"`
}

// Dimension is a name and value.
type Dimension struct {
	Name  string `cbor:"Name"`
	Value string `cbor:"Value"`
}

// Output is a GetMetricData answer.
type Output struct {
	MetricDataResults []Result  `cbor:"MetricDataResults"`
	NextToken         string    `cbor:"NextToken,omitempty"`
	Messages          []Message `cbor:"Messages,omitempty"`
}

// Result is one MetricDataResult. StatusCode is Complete, PartialData,
// InternalError or Forbidden.
type Result struct {
	Id         string      `cbor:"Id"`
	Label      string      `cbor:"Label,omitempty"`
	Timestamps []time.Time `cbor:"Timestamps"`
	Values     []float64   `cbor:"Values"`
	StatusCode string      `cbor:"StatusCode"`
	Messages   []Message   `cbor:"Messages,omitempty"`
}

// Message is a code and text CloudWatch attaches to a result or answer.
type Message struct {
	Code  string `cbor:"Code"`
	Value string `cbor:"Value"`
}

var (
	decode = mustDecMode()
	encode = mustEncMode()
)

func mustDecMode() cbor.DecMode {
	m, err := cbor.DecOptions{
		ExtraReturnErrors: cbor.ExtraDecErrorUnknownField,
		DupMapKey:         cbor.DupMapKeyEnforcedAPF,
	}.DecMode()
	if err != nil {
		panic(err)
	}
	return m
}

// Timestamps go out as tag 1 (epoch seconds), the only form the protocol
// allows.
func mustEncMode() cbor.EncMode {
	m, err := cbor.EncOptions{Time: cbor.TimeUnixDynamic, TimeTag: cbor.EncTagRequired}.EncMode()
	if err != nil {
		panic(err)
	}
	return m
}

// ReadRequest checks that r is a GetMetricData call in the protocol,
// signed for region with creds (service "monitoring"), and decodes it.
func ReadRequest(r *http.Request, creds providertest.SigV4) (Request, error) {
	var req Request
	if r.Method != http.MethodPost || r.URL.Path != Path {
		return req, fmt.Errorf("%s %s, want POST %s", r.Method, r.URL.Path, Path)
	}
	for header, want := range map[string]string{
		"Smithy-Protocol": "rpc-v2-cbor", "Content-Type": "application/cbor",
		"Accept": "application/cbor", "X-Amzn-Query-Mode": "true",
	} {
		if got := r.Header.Get(header); got != want {
			return req, fmt.Errorf("header %s is %q, want %q", header, got, want)
		}
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return req, err
	}
	creds.Service = "monitoring"
	creds.MustSign = append(creds.MustSign, "content-type", "smithy-protocol")
	if err := providertest.CheckSigV4(r, body, creds); err != nil {
		return req, fmt.Errorf("signature: %w", err)
	}
	if err := decode.NewDecoder(bytes.NewReader(body)).Decode(&req); err != nil {
		return req, fmt.Errorf("decode body: %w", err)
	}
	return req, nil
}

// WriteOutput answers with out.
func WriteOutput(w http.ResponseWriter, out Output) {
	body, err := encode.Marshal(out)
	if err != nil {
		panic(err)
	}
	w.Header().Set("Content-Type", "application/cbor")
	w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
	w.Header().Set("X-Amzn-Requestid", "c0ffee00-0000-4000-8000-000000000001")
	w.Write(body)
}

// Errors as CloudWatch sends them: HTTP status, the error's shape in
// __type, and its query-protocol code and fault in X-Amzn-Query-Error.
var (
	Throttling    = Error{400, "com.amazon.coral.availability#ThrottlingException", "Throttling;Sender", "Rate exceeded"}
	InvalidParam  = Error{400, "com.amazonaws.cloudwatch#InvalidParameterValueException", "InvalidParameterValue;Sender", "The value 5m for parameter MetricDataQueries.member.1.MetricStat.Period is invalid."}
	BadSignature  = Error{403, "com.amazon.coral.service#InvalidSignatureException", "SignatureDoesNotMatch;Sender", "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."}
	InternalFault = Error{500, "com.amazonaws.cloudwatch#InternalServiceFault", "InternalServiceError;Receiver", "Internal service error"}
	AccessDenied  = Error{403, "com.amazon.coral.service#AccessDeniedException", "AccessDenied;Sender", "User: arn:aws:iam::123456789012:user/rollouts is not authorized to perform: cloudwatch:GetMetricData"}
	InvalidToken  = Error{400, "com.amazonaws.cloudwatch#InvalidNextToken", "InvalidNextToken;Sender", "The service couldn't process the pagination token."}
	UnknownKeyID  = Error{403, "com.amazon.coral.service#UnrecognizedClientException", "InvalidClientTokenId;Sender", "The security token included in the request is invalid."}
)

// Error is an error answer.
type Error struct {
	Status                    int
	Type, QueryError, Message string
}

// Write answers with e.
func (e Error) Write(w http.ResponseWriter) {
	body, err := encode.Marshal(map[string]string{"__type": e.Type, "message": e.Message})
	if err != nil {
		panic(err)
	}
	w.Header().Set("Content-Type", "application/cbor")
	w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
	w.Header().Set("X-Amzn-Query-Error", e.QueryError)
	w.Header().Set("X-Amzn-Requestid", "c0ffee00-0000-4000-8000-000000000002")
	w.WriteHeader(e.Status)
	w.Write(body)
}
