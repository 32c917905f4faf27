package main

import (
	"os"
	"slices"
	"strings"

	"github.com/engage-bridge/engage-bridge/ingress"
	"github.com/engage-bridge/engage-bridge/internal/endpoints"
	"github.com/engage-bridge/engage-bridge/router"
	"github.com/engage-bridge/engage-bridge/router/routesfile"
)

// singleEndpointVariables describe the one endpoint of a bridge without
// BRIDGE_ENDPOINTS_FILE; with it, each endpoint has its own.
var singleEndpointVariables = []string{
	"BRIDGE_WEBHOOK_PATH",
	"BRIDGE_SIGNING_SECRETS", "BRIDGE_SIGNING_SECRETS_FILE",
	"BRIDGE_ENCRYPTION_KEY", "BRIDGE_ENCRYPTION_KEY_FILE",
}

// endpoints reads BRIDGE_ENDPOINTS_FILE and every file it names into the
// ingress's endpoints, each with its routing table when it has a
// routes_file (nil: the global one). Each problem of the file is one line.
func (v *values) endpoints(path string) []ingress.Endpoint {
	for _, name := range singleEndpointVariables {
		if _, set := v.raw(name); set {
			v.problem("BRIDGE_ENDPOINTS_FILE", "set BRIDGE_ENDPOINTS_FILE or %s, not both: each endpoint of the file has its own path, secrets and key", name)
		}
	}
	eps, err := endpoints.Load(path, os.ReadFile)
	if err != nil {
		for line := range strings.SplitSeq(err.Error(), "\n") {
			v.problem("BRIDGE_ENDPOINTS_FILE", "%s", line)
		}
		return nil
	}
	out := make([]ingress.Endpoint, 0, len(eps))
	for _, e := range eps {
		ie := ingressEndpoint(e)
		if e.RoutesFile != "" {
			ie.Routes = v.endpointRoutes(e)
		}
		out = append(out, ie)
	}
	return out
}

// ingressEndpoint is e as the ingress serves it, without its routing table.
func ingressEndpoint(e endpoints.Endpoint) ingress.Endpoint {
	return ingress.Endpoint{Name: e.Name, Path: e.Path, Secrets: e.Secrets, Key: e.Key, Tenants: e.Tenants}
}

// endpointRoutes builds an endpoint's own routing table. endpoints.Load
// checked it already; this only fails when the file changed meanwhile.
func (v *values) endpointRoutes(e endpoints.Endpoint) *router.Table {
	cfg, err := routesfile.Load(e.RoutesFile)
	if err != nil {
		v.problem("BRIDGE_ENDPOINTS_FILE", "endpoint %s: routes_file: %v", e.Name, err)
		return nil
	}
	t, err := router.New(cfg)
	if err != nil {
		v.problem("BRIDGE_ENDPOINTS_FILE", "endpoint %s: routes_file: %s", e.Name, strings.ReplaceAll(err.Error(), "\n", "; "))
		return nil
	}
	return t
}

// tables are the routing tables in use: the global one unless every
// endpoint has its own, and each endpoint's own.
func tables(global *router.Table, eps []ingress.Endpoint) []*router.Table {
	var out []*router.Table
	usesGlobal := len(eps) == 0
	for _, e := range eps {
		if e.Routes == nil {
			usesGlobal = true
		} else {
			out = append(out, e.Routes)
		}
	}
	if usesGlobal && global != nil {
		out = append([]*router.Table{global}, out...)
	}
	return out
}

// allTopics is the union of every table's known topics: what topics
// creates and readiness checks.
func allTopics(ts []*router.Table) []string {
	var out []string
	for _, t := range ts {
		out = append(out, knownTopics(t)...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}
