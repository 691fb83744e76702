package alb

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/metricprovider/awsconfig"
	"github.com/aviary-rollouts/aviary/internal/plan/services"
)

// DefaultTagKey is the tag the load balancer controller puts on each
// target group it makes, naming the Ingress, Service and port it serves
// (--alb-tag-key-resource-id).
const DefaultTagKey = "ingress.k8s.aws/resource"

// Event reasons of weight verification, Argo Rollouts' names.
const (
	ReasonVerified    = "TargetGroupVerified"
	ReasonUnverified  = "TargetGroupUnverified"
	ReasonVerifyError = "WeightVerifyError"
	// ReasonTargetsError: the registration of a Service's pods could not
	// be checked.
	ReasonTargetsError = "TargetGroupVerifyError"
)

// DefaultBindingAPIVersion is the TargetGroupBindings' apiVersion unless
// --aws-target-group-binding-api-version says otherwise.
const DefaultBindingAPIVersion = "elbv2.k8s.aws/v1beta1"

// Page and batch sizes of the ELBv2 calls, as Argo Rollouts asks for
// them (DescribeTags takes at most 20 ARNs).
const (
	loadBalancerPageSize = 300
	describeTagsLimit    = 20
)

// ELBv2 is the part of the ELBv2 API that weight and registration
// verification call.
type ELBv2 interface {
	elbv2.DescribeLoadBalancersAPIClient
	DescribeTargetGroups(context.Context, *elbv2.DescribeTargetGroupsInput, ...func(*elbv2.Options)) (*elbv2.DescribeTargetGroupsOutput, error)
	DescribeTags(context.Context, *elbv2.DescribeTagsInput, ...func(*elbv2.Options)) (*elbv2.DescribeTagsOutput, error)
	DescribeListeners(context.Context, *elbv2.DescribeListenersInput, ...func(*elbv2.Options)) (*elbv2.DescribeListenersOutput, error)
	DescribeRules(context.Context, *elbv2.DescribeRulesInput, ...func(*elbv2.Options)) (*elbv2.DescribeRulesOutput, error)
	DescribeTargetHealth(context.Context, *elbv2.DescribeTargetHealthInput, ...func(*elbv2.Options)) (*elbv2.DescribeTargetHealthOutput, error)
}

// Verifier reads from AWS the weights the load balancer's listener rules
// give each target group, to tell whether the load balancer controller
// has applied the actions annotation yet.
type Verifier struct {
	API ELBv2
	// TagKey is the target-group tag naming its Ingress, Service and port.
	TagKey string
}

// NewVerifier builds a Verifier on the SDK's default configuration
// (credentials, region, and the endpoint, which
// AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2 or AWS_ENDPOINT_URL
// overrides), logging through the controller's logger.
func NewVerifier(ctx context.Context, tagKey string) (*Verifier, error) {
	cfg, err := awsconfig.Load(ctx)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration for ALB weight verification: %w", err)
	}
	if tagKey == "" {
		tagKey = DefaultTagKey
	}
	return &Verifier{API: elbv2.NewFromConfig(cfg), TagKey: tagKey}, nil
}

// resourceID is the TagKey value of the target group of service:port
// behind Ingress ingress, as the load balancer controller builds it.
func resourceID(namespace, ingress, service string, port int32) string {
	return fmt.Sprintf("%s/%s-%s:%d", namespace, ingress, service, port)
}

// Verification is what Verify found on one Ingress's load balancer.
type Verification struct {
	// Verified: every weighted target group has its desired weight.
	Verified bool
	// Waiting says what is not yet as desired, "" when Verified.
	Waiting string
	// Status is the load balancer and target groups, as status.alb(s)
	// records them.
	Status v1alpha1.ALBStatus
}

// Verify reads the weights the load balancer of ing gives the canary's
// target group (and each additional destination's) and compares them
// with weight (and theirs).
func (v *Verifier) Verify(ctx context.Context, ro *v1alpha1.Rollout, ing *networkingv1.Ingress, weight int32, additional ...v1alpha1.WeightDestination) (Verification, error) {
	out := Verification{Status: v1alpha1.ALBStatus{Ingress: ing.Name}}
	stableService, canaryService := services.ForRouter(ro, true)
	port := routing(ro).ServicePort
	canaryID := resourceID(ro.Namespace, ing.Name, canaryService, port)
	want := map[string]int32{canaryID: weight}
	names := map[string]string{canaryID: canaryService}
	for _, d := range additional {
		id := resourceID(ro.Namespace, ing.Name, d.ServiceName, port)
		want[id], names[id] = d.Weight, d.ServiceName
	}
	stableID := resourceID(ro.Namespace, ing.Name, stableService, port)
	var hostnames []string
	for _, lb := range ing.Status.LoadBalancer.Ingress {
		if lb.Hostname != "" {
			hostnames = append(hostnames, lb.Hostname)
		}
	}
	if len(hostnames) == 0 {
		out.Waiting = fmt.Sprintf("Ingress %s has no load balancer yet (status.loadBalancer has no hostname)", ing.Name)
		return out, nil
	}
	seen := map[string]int32{}
	for _, host := range hostnames {
		lb, err := v.loadBalancer(ctx, host)
		if err != nil {
			return out, fmt.Errorf("find the load balancer %s of Ingress %s: %w", host, ing.Name, err)
		}
		if lb == nil {
			out.Waiting = fmt.Sprintf("no load balancer named %s (Ingress %s) in AWS", host, ing.Name)
			return out, nil
		}
		out.Status.LoadBalancer = ref(aws.ToString(lb.LoadBalancerName), aws.ToString(lb.LoadBalancerArn), 2)
		groups, err := v.targetGroups(ctx, aws.ToString(lb.LoadBalancerArn))
		if err != nil {
			return out, fmt.Errorf("read the target groups of load balancer %s (Ingress %s): %w", aws.ToString(lb.LoadBalancerArn), ing.Name, err)
		}
		for _, g := range groups {
			id := g.tags[v.TagKey]
			switch id {
			case stableID:
				out.Status.StableTargetGroup = ref(g.name, g.arn, 1)
			case canaryID:
				out.Status.CanaryTargetGroup = ref(g.name, g.arn, 1)
			}
			if _, ok := want[id]; ok && g.weight != nil {
				seen[id] = *g.weight
			}
		}
	}
	var diffs []string
	for id, w := range want {
		got, ok := seen[id]
		switch {
		case !ok:
			diffs = append(diffs, fmt.Sprintf("%s: no weighted target group tagged %s=%s", names[id], v.TagKey, id))
		case got != w:
			diffs = append(diffs, fmt.Sprintf("%s: weight %d, want %d", names[id], got, w))
		}
	}
	if len(diffs) > 0 {
		slices.Sort(diffs)
		out.Waiting = fmt.Sprintf("load balancer of Ingress %s: %s", ing.Name, strings.Join(diffs, "; "))
		return out, nil
	}
	out.Verified = true
	return out, nil
}

// ref names an AWS resource; FullName is the ARN's "/"-separated parts
// from skip on, as Argo Rollouts records it (name/id).
func ref(name, arn string, skip int) v1alpha1.AwsResourceRef {
	r := v1alpha1.AwsResourceRef{Name: name, ARN: arn}
	if parts := strings.Split(arn, "/"); len(parts) > skip {
		r.FullName = strings.Join(parts[skip:], "/")
	}
	return r
}

func (v *Verifier) loadBalancer(ctx context.Context, dnsName string) (*elbv2types.LoadBalancer, error) {
	pages := elbv2.NewDescribeLoadBalancersPaginator(v.API, &elbv2.DescribeLoadBalancersInput{PageSize: aws.Int32(loadBalancerPageSize)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for i := range page.LoadBalancers {
			if aws.ToString(page.LoadBalancers[i].DNSName) == dnsName {
				return &page.LoadBalancers[i], nil
			}
		}
	}
	return nil, nil
}

type targetGroup struct {
	name, arn string
	tags      map[string]string
	weight    *int32
}

// targetGroups lists the load balancer's target groups with their tags
// and the weight its listener rules' forward actions give them.
func (v *Verifier) targetGroups(ctx context.Context, lbARN string) ([]*targetGroup, error) {
	tgs, err := v.API.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{LoadBalancerArn: &lbARN})
	if err != nil {
		return nil, err
	}
	byARN := map[string]*targetGroup{}
	var arns []string
	var out []*targetGroup
	for _, tg := range tgs.TargetGroups {
		g := &targetGroup{name: aws.ToString(tg.TargetGroupName), arn: aws.ToString(tg.TargetGroupArn), tags: map[string]string{}}
		byARN[g.arn] = g
		arns = append(arns, g.arn)
		out = append(out, g)
	}
	for i := 0; i < len(arns); i += describeTagsLimit {
		tags, err := v.API.DescribeTags(ctx, &elbv2.DescribeTagsInput{ResourceArns: arns[i:min(i+describeTagsLimit, len(arns))]})
		if err != nil {
			return nil, err
		}
		for _, d := range tags.TagDescriptions {
			if g := byARN[aws.ToString(d.ResourceArn)]; g != nil {
				for _, t := range d.Tags {
					g.tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
				}
			}
		}
	}
	listeners, err := v.API.DescribeListeners(ctx, &elbv2.DescribeListenersInput{LoadBalancerArn: &lbARN})
	if err != nil {
		return nil, err
	}
	for _, l := range listeners.Listeners {
		rules, err := v.API.DescribeRules(ctx, &elbv2.DescribeRulesInput{ListenerArn: l.ListenerArn})
		if err != nil {
			return nil, err
		}
		for _, rule := range rules.Rules {
			for _, a := range rule.Actions {
				if a.ForwardConfig == nil {
					continue
				}
				for _, t := range a.ForwardConfig.TargetGroups {
					if g := byARN[aws.ToString(t.TargetGroupArn)]; g != nil {
						g.weight = t.Weight
					}
				}
			}
		}
	}
	return out, nil
}
