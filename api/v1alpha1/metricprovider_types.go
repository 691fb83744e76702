package v1alpha1

import (
	"encoding/json"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// MetricProvider says where a metric's measurements come from. Exactly one
// provider is set; the rule enforcing it sits on Metric.
type MetricProvider struct {
	// Prometheus runs a PromQL query.
	Prometheus *PrometheusMetric `json:"prometheus,omitempty"`
	// Kayenta runs a Kayenta canary judgement.
	Kayenta *KayentaMetric `json:"kayenta,omitempty"`
	// Web calls an HTTP endpoint.
	Web *WebMetric `json:"web,omitempty"`
	// Datadog runs a Datadog query.
	Datadog *DatadogMetric `json:"datadog,omitempty"`
	// Wavefront runs a Wavefront query.
	Wavefront *WavefrontMetric `json:"wavefront,omitempty"`
	// NewRelic runs an NRQL query.
	NewRelic *NewRelicMetric `json:"newRelic,omitempty"`
	// Job runs a Kubernetes Job; completion is success.
	Job *JobMetric `json:"job,omitempty"`
	// CloudWatch runs CloudWatch GetMetricData queries.
	CloudWatch *CloudWatchMetric `json:"cloudWatch,omitempty"`
	// Graphite runs a Graphite query.
	Graphite *GraphiteMetric `json:"graphite,omitempty"`
	// Influxdb runs a Flux query.
	Influxdb *InfluxdbMetric `json:"influxdb,omitempty"`
	// SkyWalking runs an Apache SkyWalking GraphQL query.
	SkyWalking *SkyWalkingMetric `json:"skywalking,omitempty"`
	// Plugin maps a metric-provider plugin name to its configuration.
	// +kubebuilder:validation:Schemaless
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Type=object
	Plugin map[string]json.RawMessage `json:"plugin,omitempty"`
}

// PrometheusMetric queries a Prometheus-compatible server.
type PrometheusMetric struct {
	// Address of the server; empty means the controller's configured default.
	Address string `json:"address,omitempty"`
	// Query is the PromQL expression.
	Query string `json:"query,omitempty"`
	// Authentication for the server.
	// +optional
	Authentication Authentication `json:"authentication,omitempty"`
	// Timeout of the query in seconds (default 30).
	// +optional
	Timeout *int64 `json:"timeout,omitempty"`
	// Insecure skips TLS certificate verification.
	// +optional
	Insecure bool `json:"insecure,omitempty"`
	// Headers are added to the request.
	// +optional
	Headers []WebMetricHeader `json:"headers,omitempty" patchStrategy:"merge" patchMergeKey:"key"`
	// RangeQuery turns the query into a range query.
	// +optional
	RangeQuery *PrometheusRangeQueryArgs `json:"rangeQuery,omitempty"`
}

// PrometheusRangeQueryArgs bounds a range query; start and end are
// expressions evaluating to times.
type PrometheusRangeQueryArgs struct {
	// Start expression, e.g. "now() - duration('5m')".
	Start string `json:"start,omitempty"`
	// End expression, e.g. "now()".
	End string `json:"end,omitempty"`
	// Step between points.
	Step DurationString `json:"step,omitempty"`
}

// Authentication holds the ways a metric request can authenticate.
type Authentication struct {
	// Sigv4 signs requests for Amazon Managed Prometheus.
	// +optional
	Sigv4 Sigv4Config `json:"sigv4,omitempty"`
	// OAuth2 obtains a token with client credentials.
	// +optional
	OAuth2 OAuth2Config `json:"oauth2,omitempty"`
	// BasicAuth sends a user name and password.
	// +optional
	BasicAuth *BasicAuth `json:"basicAuth,omitempty"`
}

// OAuth2Config is an OAuth2 client-credentials configuration.
type OAuth2Config struct {
	// TokenURL is the token endpoint.
	TokenURL string `json:"tokenUrl,omitempty"`
	// ClientID of the client.
	ClientID string `json:"clientId,omitempty"`
	// ClientSecret of the client.
	ClientSecret string `json:"clientSecret,omitempty"`
	// Scopes to request.
	// +optional
	Scopes []string `json:"scopes,omitempty"`
}

// Sigv4Config is an AWS SigV4 signing configuration.
type Sigv4Config struct {
	// Region of the workspace.
	Region string `json:"region,omitempty"`
	// Profile of the AWS credentials.
	Profile string `json:"profile,omitempty"`
	// RoleARN to assume.
	RoleARN string `json:"roleArn,omitempty"`
}

// BasicAuth is HTTP basic authentication.
type BasicAuth struct {
	// Username to send.
	Username string `json:"username,omitempty"`
	// Password to send.
	Password string `json:"password,omitempty"`
}

// WavefrontMetric queries Wavefront.
type WavefrontMetric struct {
	// Address of the Wavefront server.
	Address string `json:"address,omitempty"`
	// Query to run.
	Query string `json:"query,omitempty"`
}

// NewRelicMetric queries New Relic with NRQL.
type NewRelicMetric struct {
	// Profile is the Secret with the account settings (default newrelic).
	Profile string `json:"profile,omitempty"`
	// Query is the NRQL query.
	Query string `json:"query"`
	// Timeout of the query in seconds.
	// +optional
	Timeout *int64 `json:"timeout,omitempty"`
}

// JobMetric runs a Job per measurement.
type JobMetric struct {
	// Metadata is the Job's labels and annotations.
	// +optional
	Metadata metav1.ObjectMeta `json:"metadata,omitempty"`
	// Spec is the Job spec.
	Spec batchv1.JobSpec `json:"spec"`
}

// GraphiteMetric queries Graphite.
type GraphiteMetric struct {
	// Address of the Graphite server.
	Address string `json:"address,omitempty"`
	// Query to run.
	Query string `json:"query,omitempty"`
}

// InfluxdbMetric queries InfluxDB with Flux.
type InfluxdbMetric struct {
	// Profile is the Secret with the connection settings (default influxdb).
	Profile string `json:"profile,omitempty"`
	// Query is the Flux query.
	Query string `json:"query,omitempty"`
}

// SkyWalkingMetric queries Apache SkyWalking's GraphQL API.
type SkyWalkingMetric struct {
	// Address of the SkyWalking OAP server.
	Address string `json:"address,omitempty"`
	// Query is the GraphQL query.
	Query string `json:"query,omitempty"`
	// Interval is the time window queried.
	Interval DurationString `json:"interval,omitempty"`
}

// CloudWatchMetric runs CloudWatch GetMetricData.
type CloudWatchMetric struct {
	// Interval is the look-back window (default 5m).
	Interval DurationString `json:"interval,omitempty"`
	// MetricDataQueries are the queries.
	MetricDataQueries []CloudWatchMetricDataQuery `json:"metricDataQueries"`
}

// CloudWatchMetricDataQuery is one CloudWatch MetricDataQuery.
type CloudWatchMetricDataQuery struct {
	// Id of the query (spelled as in the Argo Rollouts Go API).
	Id string `json:"id,omitempty"`
	// Expression is a metric math expression.
	Expression *string `json:"expression,omitempty"`
	// Label of the result.
	Label *string `json:"label,omitempty"`
	// MetricStat selects a metric directly.
	MetricStat *CloudWatchMetricStat `json:"metricStat,omitempty"`
	// Period in seconds.
	Period *intstr.IntOrString `json:"period,omitempty"`
	// ReturnData includes the query in the results.
	ReturnData *bool `json:"returnData,omitempty"`
}

// CloudWatchMetricStat selects a CloudWatch metric and statistic.
type CloudWatchMetricStat struct {
	// Metric to read.
	Metric CloudWatchMetricStatMetric `json:"metric,omitempty"`
	// Period in seconds.
	Period intstr.IntOrString `json:"period,omitempty"`
	// Stat such as Average or p99.
	Stat string `json:"stat,omitempty"`
	// Unit of the values.
	Unit string `json:"unit,omitempty"`
}

// CloudWatchMetricStatMetric identifies a CloudWatch metric.
type CloudWatchMetricStatMetric struct {
	// Dimensions of the metric.
	Dimensions []CloudWatchMetricStatMetricDimension `json:"dimensions,omitempty"`
	// MetricName of the metric.
	MetricName string `json:"metricName,omitempty"`
	// Namespace of the metric.
	Namespace *string `json:"namespace,omitempty"`
}

// CloudWatchMetricStatMetricDimension is one dimension of a CloudWatch metric.
type CloudWatchMetricStatMetricDimension struct {
	// Name of the dimension.
	Name string `json:"name,omitempty"`
	// Value of the dimension.
	Value string `json:"value,omitempty"`
}

// KayentaMetric runs a Kayenta canary judgement.
type KayentaMetric struct {
	// Address of Kayenta.
	Address string `json:"address"`
	// Application name in Kayenta.
	Application string `json:"application"`
	// CanaryConfigName is the Kayenta canary configuration.
	CanaryConfigName string `json:"canaryConfigName"`
	// MetricsAccountName is the Kayenta metrics account.
	MetricsAccountName string `json:"metricsAccountName"`
	// ConfigurationAccountName is the Kayenta configuration account.
	ConfigurationAccountName string `json:"configurationAccountName"`
	// StorageAccountName is the Kayenta storage account.
	StorageAccountName string `json:"storageAccountName"`
	// Threshold maps the score to a phase.
	Threshold KayentaThreshold `json:"threshold"`
	// Scopes compare control and experiment.
	Scopes []KayentaScope `json:"scopes"`
	// Lookback asks for a look-back analysis.
	Lookback bool `json:"lookback,omitempty"`
}

// KayentaThreshold maps a Kayenta score to a phase.
type KayentaThreshold struct {
	// Pass is the minimum successful score.
	Pass int64 `json:"pass"`
	// Marginal is the minimum inconclusive score.
	Marginal int64 `json:"marginal"`
}

// KayentaScope is a pair of control and experiment scopes.
type KayentaScope struct {
	// Name of the scope.
	Name string `json:"name"`
	// ControlScope is the baseline.
	ControlScope ScopeDetail `json:"controlScope"`
	// ExperimentScope is the canary.
	ExperimentScope ScopeDetail `json:"experimentScope"`
}

// ScopeDetail is one Kayenta scope.
type ScopeDetail struct {
	// Scope selector.
	Scope string `json:"scope"`
	// Region of the scope.
	Region string `json:"region"`
	// Step in seconds.
	Step int64 `json:"step"`
	// Start time.
	Start string `json:"start,omitempty"`
	// End time.
	End string `json:"end,omitempty"`
}

// WebMetric calls an HTTP endpoint and evaluates its response.
type WebMetric struct {
	// Method is GET (default), POST or PUT.
	Method WebMetricMethod `json:"method,omitempty"`
	// URL to call.
	URL string `json:"url"`
	// Headers to send.
	Headers []WebMetricHeader `json:"headers,omitempty" patchStrategy:"merge" patchMergeKey:"key"`
	// Body to send (POST or PUT).
	Body string `json:"body,omitempty"`
	// TimeoutSeconds of the request (default 10).
	TimeoutSeconds int64 `json:"timeoutSeconds,omitempty"`
	// JSONPath selects the result from the response (default "{$}").
	JSONPath string `json:"jsonPath,omitempty"`
	// Insecure skips TLS certificate verification.
	Insecure bool `json:"insecure,omitempty"`
	// JSONBody is a JSON body to send instead of body; it sets the content type.
	// +kubebuilder:validation:Schemaless
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Type=object
	JSONBody json.RawMessage `json:"jsonBody,omitempty"`
	// Authentication for the endpoint.
	// +optional
	Authentication Authentication `json:"authentication,omitempty"`
}

// WebMetricMethod is the HTTP method of a web metric.
type WebMetricMethod string

// WebMetricMethod values.
const (
	WebMetricMethodGet  WebMetricMethod = "GET"
	WebMetricMethodPost WebMetricMethod = "POST"
	WebMetricMethodPut  WebMetricMethod = "PUT"
)

// WebMetricHeader is one HTTP header.
type WebMetricHeader struct {
	// Key is the header name.
	Key string `json:"key"`
	// Value is the header value.
	Value string `json:"value"`
}

// DatadogMetric queries Datadog.
type DatadogMetric struct {
	// Interval is the query window (default 5m).
	// +kubebuilder:default="5m"
	Interval DurationString `json:"interval,omitempty"`
	// Query is a v1 metric query.
	Query string `json:"query,omitempty"`
	// Queries are named v2 queries used by formula.
	// +kubebuilder:validation:Type=object
	Queries map[string]string `json:"queries,omitempty"`
	// Formula combines the named queries (v2).
	Formula string `json:"formula,omitempty"`
	// ApiVersion is v1 (default) or v2 (spelled as in the Argo Rollouts Go API).
	// +kubebuilder:validation:Enum=v1;v2
	// +kubebuilder:default=v1
	ApiVersion string `json:"apiVersion,omitempty"`
	// Aggregator reduces a v2 series to one value.
	// +kubebuilder:validation:Enum=avg;min;max;sum;last;percentile;mean;l2norm;area
	Aggregator string `json:"aggregator,omitempty"`
	// SecretRef names the Secret with the Datadog credentials.
	// +optional
	SecretRef SecretRef `json:"secretRef,omitempty"`
	// RequestTimeout of the HTTP request (default 10s).
	// +optional
	RequestTimeout DurationString `json:"requestTimeout,omitempty"`
}

// SecretRef names a credentials Secret.
type SecretRef struct {
	// Name of the Secret.
	Name string `json:"name,omitempty"`
	// Namespaced looks for it in the metric's namespace instead of the
	// controller's.
	Namespaced bool `json:"namespaced,omitempty"`
}
