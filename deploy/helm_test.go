package deploy

import (
	"bytes"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"helm.sh/helm/v3/pkg/lint"
	"helm.sh/helm/v3/pkg/lint/support"
	"helm.sh/helm/v3/pkg/releaseutil"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	sigsyaml "sigs.k8s.io/yaml"
)

const chartDir = "helm/engage-bridge"

// serviceMonitor is the part of the Prometheus Operator's ServiceMonitor the
// chart writes; decoding strictly into it catches a misspelt field.
type serviceMonitor struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		Selector  metav1.LabelSelector `json:"selector"`
		Endpoints []struct {
			Port        string `json:"port"`
			Path        string `json:"path"`
			Interval    string `json:"interval"`
			HonorLabels bool   `json:"honorLabels"`
		} `json:"endpoints"`
	} `json:"spec"`
}

// prometheusRule is the Prometheus Operator's PrometheusRule as the chart
// writes it: the rule groups of deploy/prometheus/alerts.yaml.
type prometheusRule struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		Groups []struct {
			Name  string `json:"name"`
			Rules []struct {
				Alert       string            `json:"alert"`
				Expr        string            `json:"expr"`
				For         string            `json:"for,omitempty"`
				Labels      map[string]string `json:"labels"`
				Annotations map[string]string `json:"annotations"`
			} `json:"rules"`
		} `json:"groups"`
	} `json:"spec"`
}

// render renders the chart as `helm install --dry-run` does (Helm's
// install action, client-only: dependencies merged, values validated
// against the chart's schema, templates rendered, NOTES.txt dropped,
// hooks sorted out), hooks included, and decodes every object strictly
// into its API type. It calls Helm's packages directly rather than
// action.Install, whose import of Helm's whole client (Kubernetes
// client-go, kustomize, registries) costs the cold CI build minutes.
func render(t *testing.T, valuesFile string) (map[string][]any, map[string]string) {
	t.Helper()
	chart, err := loader.Load(chartDir)
	if err != nil {
		t.Fatal(err)
	}
	vals := map[string]any{}
	if valuesFile != "" {
		if vals, err = chartutil.ReadValuesFile(valuesFile); err != nil {
			t.Fatal(err)
		}
	}
	caps := chartutil.DefaultCapabilities
	if v := chart.Metadata.KubeVersion; v != "" && !chartutil.IsCompatibleRange(v, caps.KubeVersion.String()) {
		t.Fatalf("chart requires kubeVersion %s, incompatible with %s", v, caps.KubeVersion.String())
	}
	if err := chartutil.ProcessDependenciesWithMerge(chart, vals); err != nil {
		t.Fatal(err)
	}
	opts := chartutil.ReleaseOptions{Name: "engage-bridge", Namespace: "webhooks", Revision: 1, IsInstall: true}
	values, err := chartutil.ToRenderValuesWithSchemaValidation(chart, vals, opts, caps, false)
	if err != nil {
		t.Fatalf("helm install --dry-run: %v", err)
	}
	files, err := engine.Render(chart, values)
	if err != nil {
		t.Fatalf("helm install --dry-run: %v", err)
	}
	for name := range files {
		if strings.HasSuffix(name, "/NOTES.txt") {
			delete(files, name)
		}
	}
	hookList, manifests, err := releaseutil.SortManifests(files, nil, releaseutil.InstallOrder)
	if err != nil {
		t.Fatalf("helm install --dry-run: %v", err)
	}
	var docs []string
	for _, m := range manifests {
		docs = append(docs, m.Content)
	}
	hooks := map[string]string{} // kind/name -> hook annotation
	for _, h := range hookList {
		docs = append(docs, h.Manifest)
	}
	out := map[string][]any{}
	for _, manifest := range docs {
		for name, doc := range releaseutil.SplitManifests(manifest) {
			if strings.TrimSpace(doc) == "" {
				continue
			}
			kind, obj := decodeObject(t, fmt.Sprintf("%s %s", valuesFile, name), []byte(doc))
			out[kind] = append(out[kind], obj)
			var meta struct {
				Metadata metav1.ObjectMeta `json:"metadata"`
			}
			_ = sigsyaml.Unmarshal([]byte(doc), &meta)
			if h := meta.Metadata.Annotations["helm.sh/hook"]; h != "" {
				hooks[kind+"/"+meta.Metadata.Name] = h
			}
		}
	}
	return out, hooks
}

// TestHelm renders the chart with its defaults and with every option on,
// holds each rendering to the same checks as deploy/kubernetes, and lints it.
func TestHelm(t *testing.T) {
	for _, c := range []struct {
		name       string
		valuesFile string
	}{
		{"defaults", ""},
		{"tls, sasl, ingress, monitoring", "testdata/helm-values-all.yaml"},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, hooks := render(t, c.valuesFile)
			secret, keys := "engage-bridge", map[string]bool{"signing-secrets": true, "encryption-key": true}
			if c.valuesFile != "" {
				secret = "webhooks-secrets"
				for _, k := range []string{"svix", "engage-key", "kafka-password", "kafka-ca.crt", "token"} {
					keys[k] = true
				}
			}
			checkWorkload(t, m, secret, keys)

			d := one[*appsv1.Deployment](t, m, "Deployment")
			job := one[*batchv1.Job](t, m, "Job")
			if h := hooks["Job/"+job.Name]; h != "pre-install,pre-upgrade" {
				t.Errorf("the topics Job is hook %q, want pre-install,pre-upgrade", h)
			}
			// A hook runs before the release's own objects exist: the Job
			// may only use ConfigMaps that are hooks too.
			for _, ef := range job.Spec.Template.Spec.Containers[0].EnvFrom {
				if ef.ConfigMapRef != nil && hooks["ConfigMap/"+ef.ConfigMapRef.Name] == "" {
					t.Errorf("the topics Job reads ConfigMap %s, which does not exist yet before install", ef.ConfigMapRef.Name)
				}
			}
			for _, v := range job.Spec.Template.Spec.Volumes {
				if v.ConfigMap != nil && hooks["ConfigMap/"+v.ConfigMap.Name] == "" {
					t.Errorf("the topics Job mounts ConfigMap %s, which does not exist yet before install", v.ConfigMap.Name)
				}
			}
			env := map[string]string{}
			for _, e := range d.Spec.Template.Spec.Containers[0].Env {
				env[e.Name] = e.Value
			}
			cmData := map[string]string{}
			for _, obj := range m["ConfigMap"] {
				if cm := obj.(*corev1.ConfigMap); cm.Name == d.Spec.Template.Spec.Containers[0].EnvFrom[0].ConfigMapRef.Name {
					cmData = cm.Data
				}
			}
			if c.valuesFile == "" {
				for _, kind := range []string{"Ingress", "ServiceMonitor", "PrometheusRule"} {
					if len(m[kind]) != 0 {
						t.Errorf("%s rendered by default", kind)
					}
				}
				if _, ok := env["BRIDGE_KAFKA_PASSWORD_FILE"]; ok {
					t.Error("BRIDGE_KAFKA_PASSWORD_FILE set without SASL")
				}
				return
			}

			for k, want := range map[string]string{"BRIDGE_KAFKA_TLS": "true", "BRIDGE_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512"} {
				if cmData[k] != want {
					t.Errorf("%s = %q, want %q", k, cmData[k], want)
				}
			}
			for k, want := range map[string]string{
				"BRIDGE_KAFKA_PASSWORD_FILE": "/etc/engage-bridge/kafka-password",
				"BRIDGE_KAFKA_CA_FILE":       "/etc/engage-bridge/kafka-ca.crt",
				"BRIDGE_ROUTES_FILE":         "/etc/engage-bridge-routes/routes.yaml",
				"GOMEMLIMIT":                 "960MiB",
			} {
				if env[k] != want {
					t.Errorf("%s = %q, want %q", k, env[k], want)
				}
			}

			ing := one[*networkingv1.Ingress](t, m, "Ingress")
			rule := ing.Spec.Rules[0]
			if rule.Host != "bridge.example.com" || len(ing.Spec.TLS) != 1 || ing.Spec.TLS[0].SecretName != "bridge-example-com-tls" ||
				ing.Spec.IngressClassName == nil || *ing.Spec.IngressClassName != "nginx" || ing.Annotations["cert-manager.io/cluster-issuer"] != "letsencrypt" {
				t.Errorf("Ingress: host %q, TLS %+v, class %v, annotations %v", rule.Host, ing.Spec.TLS, ing.Spec.IngressClassName, ing.Annotations)
			}
			if paths := rule.HTTP.Paths; len(paths) != 1 || paths[0].Path != env["BRIDGE_WEBHOOK_PATH"] || paths[0].Backend.Service.Name != d.Name || paths[0].Backend.Service.Port.Name != "webhook" {
				t.Errorf("Ingress paths %+v: want only the webhook path to the webhook Service", paths)
			}

			sm := one[*serviceMonitor](t, m, "ServiceMonitor")
			var admin *corev1.Service
			for _, obj := range m["Service"] {
				if s := obj.(*corev1.Service); selects(&sm.Spec.Selector, s.Labels) {
					if admin != nil {
						t.Errorf("the ServiceMonitor selects Services %s and %s", admin.Name, s.Name)
					}
					admin = s
				}
			}
			if admin == nil || len(sm.Spec.Endpoints) != 1 || sm.Spec.Endpoints[0].Port != "admin" || sm.Spec.Endpoints[0].Path != "/metrics" ||
				!slices.ContainsFunc(admin.Spec.Ports, func(p corev1.ServicePort) bool { return p.Name == "admin" }) {
				t.Errorf("ServiceMonitor %+v does not scrape /metrics on the admin Service's admin port", sm.Spec)
			}
			// The bridge's own endpoint label (the Engage endpoint) must not
			// be renamed exported_endpoint by the operator's target label.
			if len(sm.Spec.Endpoints) == 1 && !sm.Spec.Endpoints[0].HonorLabels {
				t.Errorf("ServiceMonitor endpoint without honorLabels: the bridge's endpoint label would become exported_endpoint")
			}

			pr := one[*prometheusRule](t, m, "PrometheusRule")
			var alerts []string
			for _, g := range pr.Spec.Groups {
				for _, r := range g.Rules {
					alerts = append(alerts, r.Alert)
					if r.Annotations["runbook_url"] == "" {
						t.Errorf("PrometheusRule %s: no runbook_url", r.Alert)
					}
				}
			}
			if len(alerts) < 5 {
				t.Errorf("PrometheusRule holds %d alerts", len(alerts))
			}
		})
	}
}

// TestHelmAlertsCopy keeps the chart's copy of the alert rules equal to
// deploy/prometheus/alerts.yaml (Helm reads files only inside the chart).
func TestHelmAlertsCopy(t *testing.T) {
	src, err := os.ReadFile("prometheus/alerts.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cp, err := os.ReadFile(chartDir + "/files/alerts.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(src, cp) {
		t.Errorf("%s/files/alerts.yaml differs from prometheus/alerts.yaml: cp deploy/prometheus/alerts.yaml deploy/%s/files/", chartDir, chartDir)
	}
}

// TestHelmLint runs Helm's linter, as `helm lint` does, with the
// defaults and with every option on.
func TestHelmLint(t *testing.T) {
	for _, valuesFile := range []string{"", "testdata/helm-values-all.yaml"} {
		vals := map[string]any{}
		if valuesFile != "" {
			var err error
			if vals, err = chartutil.ReadValuesFile(valuesFile); err != nil {
				t.Fatal(err)
			}
		}
		// What action.Lint runs for a chart directory, without the rest of
		// the action package (see render).
		res := lint.AllWithKubeVersionAndSchemaValidation(chartDir, vals, "", nil, false)
		for _, msg := range res.Messages {
			if msg.Severity >= support.ErrorSev {
				t.Errorf("helm lint (%q): %s", valuesFile, msg)
			}
		}
	}
}

// TestHelmValuesDocumented holds values.yaml to a comment above every key.
func TestHelmValuesDocumented(t *testing.T) {
	b, err := os.ReadFile(chartDir + "/values.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// A key is documented by a comment line right above it, or by the
	// comment above the group it belongs to (resources: requests: ...).
	type group struct {
		indent     int
		documented bool
	}
	var stack []group
	lines := strings.Split(string(b), "\n")
	for i, line := range lines {
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") || strings.HasPrefix(trimmed, "- ") {
			continue
		}
		indent := len(line) - len(strings.TrimLeft(line, " "))
		for len(stack) > 0 && stack[len(stack)-1].indent >= indent {
			stack = stack[:len(stack)-1]
		}
		documented := i > 0 && strings.HasPrefix(strings.TrimSpace(lines[i-1]), "#")
		if len(stack) > 0 && stack[len(stack)-1].documented {
			documented = true
		}
		if strings.HasSuffix(trimmed, ":") {
			stack = append(stack, group{indent, documented})
			continue
		}
		if !documented {
			t.Errorf("values.yaml line %d %q has no comment above it", i+1, trimmed)
		}
	}
}
