// Package elbv2fake is a stand-in for the AWS ELBv2 API, speaking its
// query protocol (form-encoded POST, XML answers in the documented
// shapes), for the ALB router's weight-verification tests and e2e. It
// serves the calls verification makes and refuses anything else, and
// checks each request: POST, form body, API version, SigV4 signature for
// elasticloadbalancing.
package elbv2fake

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
)

const namespace = "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"

// Group is a target group behind the load balancer: its tags and the
// weight its listener rule gives it.
type Group struct {
	Name   string
	Tags   map[string]string
	Weight int32
}

// Server is one load balancer with one listener and one forward rule
// over Groups. Weights can be changed while it serves.
type Server struct {
	*httptest.Server
	// DNSName is the load balancer's name in DNS, as the Ingress's
	// status.loadBalancer shows it.
	DNSName string
	// Name is the load balancer's name; ARN is built from it.
	Name string

	mu      sync.Mutex
	groups  []Group
	targets map[string][]string
	calls   []string
	errs    []string
}

// LoadBalancerARN is the load balancer's ARN.
func (s *Server) LoadBalancerARN() string {
	return "arn:aws:elasticloadbalancing:us-west-2:123456789012:loadbalancer/app/" + s.Name + "/50dc6c495c0c9188"
}

// GroupARN is the ARN of the named target group.
func GroupARN(name string) string {
	return "arn:aws:elasticloadbalancing:us-west-2:123456789012:targetgroup/" + name + "/73e2d6bc24d8a067"
}

func (s *Server) listenerARN() string {
	return "arn:aws:elasticloadbalancing:us-west-2:123456789012:listener/app/" + s.Name + "/50dc6c495c0c9188/f2f7dc8efc522ab2"
}

// New starts a stand-in for load balancer name at dnsName; an extra load
// balancer is listed first, on a page of its own, so callers must page.
func New(name, dnsName string, groups ...Group) *Server {
	s := &Server{Name: name, DNSName: dnsName, groups: groups}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// SetWeight sets the weight the rule gives the named target group.
func (s *Server) SetWeight(group string, w int32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.groups {
		if s.groups[i].Name == group {
			s.groups[i].Weight = w
		}
	}
}

// SetTargets registers targets ("ip:port") in the named target group,
// replacing those it had.
func (s *Server) SetTargets(group string, targets ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.targets == nil {
		s.targets = map[string][]string{}
	}
	s.targets[group] = targets
}

// Calls are the actions called so far, in order.
func (s *Server) Calls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.calls...)
}

// Errors are the requests refused as malformed, each with why.
func (s *Server) Errors() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.errs...)
}

func (s *Server) refuse(w http.ResponseWriter, code, msg string) {
	s.errs = append(s.errs, code+": "+msg)
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(http.StatusBadRequest)
	fmt.Fprintf(w, `<ErrorResponse xmlns="%s"><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>c5b3a0b1-0000-0000-0000-000000000000</RequestId></ErrorResponse>`,
		namespace, code, xmlText(msg))
}

func xmlText(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.Method != http.MethodPost || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		s.refuse(w, "InvalidAction", fmt.Sprintf("want a form-encoded POST, got %s %s", r.Method, r.Header.Get("Content-Type")))
		return
	}
	if auth := r.Header.Get("Authorization"); !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 ") || !strings.Contains(auth, "/elasticloadbalancing/aws4_request") {
		s.refuse(w, "MissingAuthenticationToken", "request not signed with SigV4 for elasticloadbalancing")
		return
	}
	if err := r.ParseForm(); err != nil {
		s.refuse(w, "MalformedQueryString", err.Error())
		return
	}
	f := r.PostForm
	if f.Get("Version") != "2015-12-01" {
		s.refuse(w, "InvalidAction", "Version "+f.Get("Version"))
		return
	}
	action := f.Get("Action")
	s.calls = append(s.calls, action)
	var body string
	switch action {
	case "DescribeLoadBalancers":
		if f.Get("PageSize") == "" {
			s.refuse(w, "ValidationError", "this stand-in wants PageSize")
			return
		}
		if f.Get("Marker") == "" {
			body = `<LoadBalancers><member><LoadBalancerArn>arn:aws:elasticloadbalancing:us-west-2:123456789012:loadbalancer/app/other/1111111111111111</LoadBalancerArn>` +
				`<DNSName>other-1.us-west-2.elb.amazonaws.com</DNSName><LoadBalancerName>other</LoadBalancerName><Type>application</Type><Scheme>internet-facing</Scheme></member></LoadBalancers><NextMarker>page2</NextMarker>`
			break
		}
		body = fmt.Sprintf(`<LoadBalancers><member><LoadBalancerArn>%s</LoadBalancerArn><DNSName>%s</DNSName><LoadBalancerName>%s</LoadBalancerName>`+
			`<Type>application</Type><Scheme>internet-facing</Scheme><State><Code>active</Code></State></member></LoadBalancers>`, s.LoadBalancerARN(), s.DNSName, s.Name)
	case "DescribeTargetGroups":
		if f.Get("LoadBalancerArn") != s.LoadBalancerARN() {
			s.refuse(w, "LoadBalancerNotFound", "LoadBalancerArn "+f.Get("LoadBalancerArn"))
			return
		}
		var b strings.Builder
		for _, g := range s.groups {
			fmt.Fprintf(&b, `<member><TargetGroupArn>%s</TargetGroupArn><TargetGroupName>%s</TargetGroupName><Protocol>HTTP</Protocol><Port>80</Port>`+
				`<TargetType>ip</TargetType><LoadBalancerArns><member>%s</member></LoadBalancerArns></member>`, GroupARN(g.Name), g.Name, s.LoadBalancerARN())
		}
		body = "<TargetGroups>" + b.String() + "</TargetGroups>"
	case "DescribeTags":
		var b strings.Builder
		for i := 1; f.Has("ResourceArns.member." + strconv.Itoa(i)); i++ {
			arn := f.Get("ResourceArns.member." + strconv.Itoa(i))
			for _, g := range s.groups {
				if GroupARN(g.Name) != arn {
					continue
				}
				fmt.Fprintf(&b, "<member><ResourceArn>%s</ResourceArn><Tags>", arn)
				for k, v := range g.Tags {
					fmt.Fprintf(&b, "<member><Key>%s</Key><Value>%s</Value></member>", xmlText(k), xmlText(v))
				}
				b.WriteString("</Tags></member>")
			}
		}
		body = "<TagDescriptions>" + b.String() + "</TagDescriptions>"
	case "DescribeListeners":
		if f.Get("LoadBalancerArn") != s.LoadBalancerARN() {
			s.refuse(w, "LoadBalancerNotFound", "LoadBalancerArn "+f.Get("LoadBalancerArn"))
			return
		}
		body = fmt.Sprintf(`<Listeners><member><ListenerArn>%s</ListenerArn><LoadBalancerArn>%s</LoadBalancerArn><Port>80</Port><Protocol>HTTP</Protocol></member></Listeners>`,
			s.listenerARN(), s.LoadBalancerARN())
	case "DescribeRules":
		if f.Get("ListenerArn") != s.listenerARN() {
			s.refuse(w, "ListenerNotFound", "ListenerArn "+f.Get("ListenerArn"))
			return
		}
		var b strings.Builder
		for _, g := range s.groups {
			fmt.Fprintf(&b, "<member><TargetGroupArn>%s</TargetGroupArn><Weight>%d</Weight></member>", GroupARN(g.Name), g.Weight)
		}
		body = `<Rules><member><RuleArn>` + s.listenerARN() + `/9683b2d02a6cabee</RuleArn><Priority>1</Priority><IsDefault>false</IsDefault>` +
			`<Conditions><member><Field>path-pattern</Field><Values><member>/*</member></Values></member></Conditions>` +
			`<Actions><member><Type>forward</Type><Order>1</Order><ForwardConfig><TargetGroups>` + b.String() +
			`</TargetGroups><TargetGroupStickinessConfig><Enabled>false</Enabled></TargetGroupStickinessConfig></ForwardConfig></member></Actions></member>` +
			`<member><RuleArn>` + s.listenerARN() + `/default</RuleArn><Priority>default</Priority><IsDefault>true</IsDefault><Conditions/>` +
			`<Actions><member><Type>fixed-response</Type><Order>1</Order><FixedResponseConfig><StatusCode>404</StatusCode></FixedResponseConfig></member></Actions></member></Rules>`
	case "DescribeTargetHealth":
		arn := f.Get("TargetGroupArn")
		var b strings.Builder
		found := false
		for _, g := range s.groups {
			if GroupARN(g.Name) != arn {
				continue
			}
			found = true
			for _, t := range s.targets[g.Name] {
				ip, port, _ := strings.Cut(t, ":")
				fmt.Fprintf(&b, `<member><Target><Id>%s</Id><Port>%s</Port></Target><HealthCheckPort>%s</HealthCheckPort><TargetHealth><State>healthy</State></TargetHealth></member>`, ip, port, port)
			}
		}
		if !found {
			s.refuse(w, "TargetGroupNotFound", "TargetGroupArn "+arn)
			return
		}
		body = "<TargetHealthDescriptions>" + b.String() + "</TargetHealthDescriptions>"
	default:
		s.refuse(w, "InvalidAction", "this stand-in does not serve "+action)
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	fmt.Fprintf(w, `<%[1]sResponse xmlns="%[2]s"><%[1]sResult>%[3]s</%[1]sResult><ResponseMetadata><RequestId>6b2a3c1e-0000-0000-0000-000000000000</RequestId></ResponseMetadata></%[1]sResponse>`,
		action, namespace, body)
}
