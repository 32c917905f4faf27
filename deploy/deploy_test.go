// Package deploy holds no code: its tests check the deployment files
// (deploy/Dockerfile, docker-compose.yml, deploy/kubernetes,
// deploy/prometheus) against the product contract, since no Docker engine
// or cluster runs where the tests run. It is its own Go module so that the
// Kubernetes, compose and Helm libraries stay out of the product's go.mod; the
// replace directive in deploy/go.mod lets it read the product's own facts
// (the dedupe bound, the topic settings) from the source next to it.
package deploy

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
	"gopkg.in/yaml.v3"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/engage-bridge/engage-bridge/internal/dedupe"
	"github.com/engage-bridge/engage-bridge/internal/kafkaops"
)

// variables returns the configuration variables the README documents
// (the table of docs/contract.md#configuration, kept equal to the code by the cmd tests).
func variables(t *testing.T) map[string]bool {
	t.Helper()
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]bool{}
	name := regexp.MustCompile("`(BRIDGE_[A-Z_]+)`( / `_FILE`)?")
	for line := range strings.SplitSeq(string(readme), "\n") {
		if !strings.HasPrefix(line, "| `BRIDGE_") {
			continue
		}
		cell := strings.Split(line, "|")[1]
		for _, m := range name.FindAllStringSubmatch(cell, -1) {
			vars[m[1]] = true
			if m[2] != "" {
				vars[m[1]+"_FILE"] = true
			}
		}
	}
	if len(vars) < 25 {
		t.Fatalf("found only %d variables in the README's configuration table", len(vars))
	}
	return vars
}

func port(t *testing.T, listen string) uint32 {
	t.Helper()
	_, p, err := net.SplitHostPort(listen)
	if err != nil {
		t.Fatalf("listen address %q: %v", listen, err)
	}
	n, err := strconv.ParseUint(p, 10, 16)
	if err != nil {
		t.Fatalf("listen address %q: %v", listen, err)
	}
	return uint32(n)
}

func loadCompose(t *testing.T, env map[string]string, profiles ...string) (*types.Project, error) {
	t.Helper()
	abs, _ := filepath.Abs("..")
	return loader.LoadWithContext(context.Background(), types.ConfigDetails{
		WorkingDir:  abs,
		ConfigFiles: []types.ConfigFile{{Filename: filepath.Join(abs, "docker-compose.yml")}},
		Environment: env,
	}, func(o *loader.Options) {
		o.SetProjectName("engage-bridge", true)
		o.Profiles = profiles
	})
}

// TestCompose loads docker-compose.yml with the compose-spec loader (the
// one docker compose uses) and checks that it runs Kafka in KRaft mode, a
// one-shot topic creation before the bridge, the bridge with variables of
// docs/contract.md#configuration and the ports they name, and a web UI under a profile.
func TestCompose(t *testing.T) {
	if _, err := loadCompose(t, map[string]string{}); err == nil || !strings.Contains(err.Error(), "BRIDGE_SIGNING_SECRETS") {
		t.Errorf("without BRIDGE_SIGNING_SECRETS the compose file loads (err %v); it must refuse, naming the variable", err)
	}
	p, err := loadCompose(t, map[string]string{"BRIDGE_SIGNING_SECRETS": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}, "ui")
	if err != nil {
		t.Fatal(err)
	}
	vars := variables(t)
	svc := func(name string) types.ServiceConfig {
		s, err := p.GetService(name)
		if err != nil {
			t.Fatalf("service %s: %v", name, err)
		}
		return s
	}
	env := func(s types.ServiceConfig, k string) string {
		v := s.Environment[k]
		if v == nil {
			return ""
		}
		return *v
	}
	for _, s := range p.Services {
		if s.Build == nil && (s.Image == "" || strings.HasSuffix(s.Image, ":latest") || !strings.Contains(s.Image, ":")) {
			t.Errorf("service %s: image %q is not pinned to a version", s.Name, s.Image)
		}
	}

	kafka := svc("kafka")
	if roles := env(kafka, "KAFKA_PROCESS_ROLES"); !strings.Contains(roles, "broker") || !strings.Contains(roles, "controller") {
		t.Errorf("kafka: KAFKA_PROCESS_ROLES %q is not KRaft combined mode", roles)
	}
	for k := range kafka.Environment {
		if strings.Contains(k, "ZOOKEEPER") {
			t.Errorf("kafka: %s: KRaft needs no ZooKeeper", k)
		}
	}
	if n, _ := strconv.ParseInt(env(kafka, "KAFKA_MESSAGE_MAX_BYTES"), 10, 64); n < kafkaops.MaxMessageBytes(1<<20) {
		t.Errorf("kafka: KAFKA_MESSAGE_MAX_BYTES %d is below a 1 MiB body plus headers (%d)", n, kafkaops.MaxMessageBytes(1<<20))
	}
	if kafka.HealthCheck == nil || len(kafka.HealthCheck.Test) == 0 {
		t.Error("kafka: no healthcheck, so nothing can wait for it")
	}

	bridge := svc("bridge")
	if bridge.Build == nil || bridge.Build.Dockerfile != "deploy/Dockerfile" {
		t.Errorf("bridge: not built from deploy/Dockerfile: %+v", bridge.Build)
	}
	if !slices.Equal(bridge.Command, types.ShellCommand{"serve"}) {
		t.Errorf("bridge: command %q, want serve", bridge.Command)
	}
	for k := range bridge.Environment {
		if !vars[k] {
			t.Errorf("bridge: %s is not a variable of docs/contract.md#configuration (README configuration table)", k)
		}
	}
	for _, required := range []string{"BRIDGE_SIGNING_SECRETS", "BRIDGE_KAFKA_BROKERS"} {
		if env(bridge, required) == "" {
			t.Errorf("bridge: %s is not set", required)
		}
	}
	listen, admin := port(t, env(bridge, "BRIDGE_LISTEN")), port(t, env(bridge, "BRIDGE_ADMIN_LISTEN"))
	published := map[uint32]types.ServicePortConfig{}
	for _, pc := range bridge.Ports {
		published[pc.Target] = pc
	}
	if _, ok := published[listen]; !ok {
		t.Errorf("bridge: the webhook port %d (BRIDGE_LISTEN) is not published", listen)
	}
	if pc, ok := published[admin]; ok && pc.HostIP != "127.0.0.1" {
		t.Errorf("bridge: the admin port %d is published on %q; keep it off the public interface", admin, pc.HostIP)
	}
	if deps := bridge.DependsOn; deps["kafka"].Condition != types.ServiceConditionHealthy || deps["topics"].Condition != types.ServiceConditionCompletedSuccessfully {
		t.Errorf("bridge: depends_on %+v; want kafka healthy and topics completed", deps)
	}
	host, kport, _ := net.SplitHostPort(env(bridge, "BRIDGE_KAFKA_BROKERS"))
	if host != "kafka" || !strings.Contains(env(kafka, "KAFKA_ADVERTISED_LISTENERS"), "//kafka:"+kport) {
		t.Errorf("bridge: BRIDGE_KAFKA_BROKERS %q is not an advertised listener of kafka (%s)", env(bridge, "BRIDGE_KAFKA_BROKERS"), env(kafka, "KAFKA_ADVERTISED_LISTENERS"))
	}
	if bridge.StopGracePeriod == nil || time.Duration(*bridge.StopGracePeriod) < 20*time.Second {
		t.Errorf("bridge: stop_grace_period %v is shorter than the drain (publish timeout + 5s) plus the producer flush", bridge.StopGracePeriod)
	}

	topics := svc("topics")
	if len(topics.Command) == 0 || topics.Command[0] != "topics" || !slices.Contains(topics.Command, "--partitions") {
		t.Errorf("topics: command %q, want engage-bridge topics with --partitions", topics.Command)
	}
	if i := slices.Index(topics.Command, "--replication-factor"); i < 0 || topics.Command[i+1] != "1" {
		t.Errorf("topics: command %q: a single broker needs --replication-factor 1", topics.Command)
	}
	if topics.Restart != "no" || topics.DependsOn["kafka"].Condition != types.ServiceConditionHealthy {
		t.Errorf("topics: restart %q, depends_on %+v; want a one-shot after kafka is healthy", topics.Restart, topics.DependsOn)
	}
	for k := range topics.Environment {
		if !vars[k] {
			t.Errorf("topics: %s is not a variable of docs/contract.md#configuration", k)
		}
	}

	ui := svc("kafka-ui")
	if !slices.Equal(ui.Profiles, []string{"ui"}) {
		t.Errorf("kafka-ui: profiles %q, want [ui]", ui.Profiles)
	}
	plain, err := loadCompose(t, map[string]string{"BRIDGE_SIGNING_SECRETS": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := plain.GetService("kafka-ui"); err == nil {
		t.Error("kafka-ui runs without --profile ui")
	}
}

// TestDockerfile checks deploy/Dockerfile: multi-stage, a static binary,
// a minimal final image, a non-root user, serve by default.
func TestDockerfile(t *testing.T) {
	text, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	gomod, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	goVersion := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(gomod)[1]
	var froms []string
	var user, entrypoint, cmd string
	for line := range strings.SplitSeq(string(text), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		switch strings.ToUpper(fields[0]) {
		case "FROM":
			froms = append(froms, fields[1])
		case "USER":
			user = fields[1]
		case "ENTRYPOINT":
			entrypoint = strings.Join(fields[1:], " ")
		case "CMD":
			cmd = strings.Join(fields[1:], " ")
		}
	}
	if len(froms) < 2 {
		t.Fatalf("FROM %q: not a multi-stage build", froms)
	}
	if !strings.HasPrefix(froms[0], "golang:"+string(goVersion)) {
		t.Errorf("build stage %s does not match go.mod's go %s", froms[0], goVersion)
	}
	if final := froms[len(froms)-1]; !strings.Contains(final, "distroless/static") && final != "scratch" {
		t.Errorf("final image %s is not minimal (distroless/static or scratch)", final)
	}
	if !bytes.Contains(text, []byte("CGO_ENABLED=0")) {
		t.Error("the binary is not built static (CGO_ENABLED=0)")
	}
	if uid := strings.Split(user, ":")[0]; user == "" || uid == "0" || uid == "root" {
		t.Errorf("USER %q: the image must not run as root", user)
	}
	if !strings.Contains(entrypoint, "engage-bridge") || !strings.Contains(cmd, "serve") {
		t.Errorf("ENTRYPOINT %s CMD %s: want engage-bridge serve", entrypoint, cmd)
	}
}

// manifests decodes every document of deploy/kubernetes strictly into
// its Kubernetes API type: an unknown or misspelt field fails.
func manifests(t *testing.T) map[string][]any {
	t.Helper()
	files, err := filepath.Glob("kubernetes/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests: %v", err)
	}
	out := map[string][]any{}
	for _, f := range files {
		text, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(text), -1) {
			if strings.TrimSpace(doc) == "" {
				continue
			}
			kind, obj := decodeObject(t, fmt.Sprintf("%s document %d", f, i+1), []byte(doc))
			out[kind] = append(out[kind], obj)
		}
	}
	return out
}

// decodeObject decodes one Kubernetes object strictly (an unknown field is
// an error) into its API type.
func decodeObject(t *testing.T, where string, doc []byte) (string, any) {
	t.Helper()
	var tm metav1.TypeMeta
	if err := sigsyaml.Unmarshal(doc, &tm); err != nil {
		t.Fatalf("%s: %v", where, err)
	}
	var obj any
	switch tm.Kind {
	case "Deployment":
		obj = &appsv1.Deployment{}
	case "Service":
		obj = &corev1.Service{}
	case "Secret":
		obj = &corev1.Secret{}
	case "ConfigMap":
		obj = &corev1.ConfigMap{}
	case "HorizontalPodAutoscaler":
		obj = &autoscalingv2.HorizontalPodAutoscaler{}
	case "PodDisruptionBudget":
		obj = &policyv1.PodDisruptionBudget{}
	case "NetworkPolicy":
		obj = &networkingv1.NetworkPolicy{}
	case "Ingress":
		obj = &networkingv1.Ingress{}
	case "Job":
		obj = &batchv1.Job{}
	case "Kustomization":
		obj = &kustomization{}
	case "ServiceMonitor":
		obj = &serviceMonitor{}
	case "PrometheusRule":
		obj = &prometheusRule{}
	default:
		t.Fatalf("%s: kind %q has no check", where, tm.Kind)
	}
	if err := sigsyaml.UnmarshalStrict(doc, obj); err != nil {
		t.Fatalf("%s (%s): %v", where, tm.Kind, err)
	}
	return tm.Kind, obj
}

type kustomization struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Resources  []string `json:"resources"`
}

func one[T any](t *testing.T, m map[string][]any, kind string) T {
	t.Helper()
	if len(m[kind]) == 0 {
		t.Fatalf("no %s in deploy/kubernetes", kind)
	}
	return m[kind][0].(T)
}

func selects(selector *metav1.LabelSelector, labels map[string]string) bool {
	if selector == nil || len(selector.MatchLabels) == 0 {
		return false
	}
	for k, v := range selector.MatchLabels {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// TestKubernetes checks the manifests against each other and against the
// bridge: probes on the admin listener, ports where BRIDGE_LISTEN and
// BRIDGE_ADMIN_LISTEN put them, secrets from the Secret through _FILE
// variables, selectors that select the pods.
func TestKubernetes(t *testing.T) {
	m := manifests(t)
	secret := one[*corev1.Secret](t, m, "Secret")
	keys := map[string]bool{}
	for k := range secret.StringData {
		keys[k] = true
	}
	checkWorkload(t, m, secret.Name, keys)
	kust := m["Kustomization"][0].(*kustomization)
	all, _ := filepath.Glob("kubernetes/*.yaml")
	for _, f := range all {
		base := filepath.Base(f)
		if base != "kustomization.yaml" && base != "secret.example.yaml" && !slices.Contains(kust.Resources, base) {
			t.Errorf("kustomization.yaml does not list %s", base)
		}
	}
}

// checkWorkload checks a set of Kubernetes objects (the manifests, or the
// Helm chart rendered) against each other and against the bridge. The
// Secret itself is the operator's: its name and keys are given.
func checkWorkload(t *testing.T, m map[string][]any, secretName string, secretKeys map[string]bool) {
	t.Helper()
	vars := variables(t)
	d := one[*appsv1.Deployment](t, m, "Deployment")
	pod := d.Spec.Template
	if !selects(d.Spec.Selector, pod.Labels) {
		t.Fatalf("the Deployment's selector %v does not select its pods %v", d.Spec.Selector, pod.Labels)
	}
	if len(pod.Spec.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(pod.Spec.Containers))
	}
	c := pod.Spec.Containers[0]
	env := map[string]string{}
	for _, e := range c.Env {
		env[e.Name] = e.Value
		if !vars[e.Name] && e.Name != "GOMEMLIMIT" && !strings.HasPrefix(e.Name, "OTEL_") {
			t.Errorf("container env %s is not a variable of docs/contract.md#configuration", e.Name)
		}
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef == nil && e.ValueFrom.ResourceFieldRef == nil {
			t.Errorf("env %s: unexpected source %+v", e.Name, e.ValueFrom)
		}
	}
	for _, obj := range m["ConfigMap"] {
		cm := obj.(*corev1.ConfigMap)
		if strings.HasSuffix(cm.Name, "routes") {
			continue // a routes file, not variables
		}
		for k := range cm.Data {
			if !vars[k] {
				t.Errorf("ConfigMap %s key %s is not a variable of docs/contract.md#configuration", cm.Name, k)
			}
			if (strings.Contains(k, "PASSWORD") || strings.Contains(k, "SECRET") || strings.Contains(k, "KEY")) && !strings.HasSuffix(k, "_FILE") {
				t.Errorf("ConfigMap key %s: secrets belong in the Secret", k)
			}
		}
	}
	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	if got, want := ports["webhook"], int32(port(t, env["BRIDGE_LISTEN"])); got != want {
		t.Errorf("container port webhook %d, BRIDGE_LISTEN says %d", got, want)
	}
	if got, want := ports["admin"], int32(port(t, env["BRIDGE_ADMIN_LISTEN"])); got != want {
		t.Errorf("container port admin %d, BRIDGE_ADMIN_LISTEN says %d", got, want)
	}
	probe := func(name string, p *corev1.Probe, path string) {
		if p == nil || p.HTTPGet == nil {
			t.Errorf("%s probe: missing or not HTTP", name)
			return
		}
		if p.HTTPGet.Path != path || p.HTTPGet.Port.String() != "admin" {
			t.Errorf("%s probe: %s on port %s, want %s on the admin port", name, p.HTTPGet.Path, p.HTTPGet.Port.String(), path)
		}
	}
	probe("liveness", c.LivenessProbe, "/healthz")
	probe("readiness", c.ReadinessProbe, "/readyz")
	if c.StartupProbe != nil {
		probe("startup", c.StartupProbe, "/healthz")
	}
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() {
		t.Errorf("resource requests %v: set cpu and memory", c.Resources.Requests)
	}
	if c.Resources.Limits.Memory().IsZero() {
		t.Error("no memory limit: GOMEMLIMIT and the in-flight bound need one")
	}
	// GOMEMLIMIT leaves room under the container limit for what the Go
	// runtime does not count: the dedupe cache (anonymous mappings, at most
	// dedupe.MaxFootprint) and the binary's mapped pages.
	if limit, err := memLimitBytes(env["GOMEMLIMIT"]); err != nil {
		t.Errorf("GOMEMLIMIT %q: %v", env["GOMEMLIMIT"], err)
	} else {
		maxEntries := int64(500_000)
		if v, ok := env["BRIDGE_DEDUPE_MAX_ENTRIES"]; ok {
			maxEntries, _ = strconv.ParseInt(v, 10, 64)
		}
		if room, need := c.Resources.Limits.Memory().Value()-limit, int64(dedupe.MaxFootprint(int(maxEntries)))+32<<20; room < need {
			t.Errorf("GOMEMLIMIT %s leaves %d MiB under the container limit; the dedupe cache and the binary need %d MiB", env["GOMEMLIMIT"], room>>20, need>>20)
		}
	}
	psc, csc := pod.Spec.SecurityContext, c.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || csc == nil || csc.ReadOnlyRootFilesystem == nil || !*csc.ReadOnlyRootFilesystem ||
		csc.AllowPrivilegeEscalation == nil || *csc.AllowPrivilegeEscalation {
		t.Error("the pod must run as non-root, read-only, without privilege escalation")
	}
	if g := pod.Spec.TerminationGracePeriodSeconds; g == nil || *g < 23 {
		t.Errorf("terminationGracePeriodSeconds %v: the drain takes the publish timeout (8s) + 5s, then the producer flush", g)
	}

	// Secrets: every _FILE variable points into a volume of the Secret,
	// at a key the Secret has.
	mounts := map[string]string{} // mount path → secret name
	for _, vm := range c.VolumeMounts {
		for _, v := range pod.Spec.Volumes {
			if v.Name == vm.Name && v.Secret != nil {
				mounts[vm.MountPath] = v.Secret.SecretName
			}
		}
	}
	configMounts := map[string]bool{}
	for _, vm := range c.VolumeMounts {
		for _, v := range pod.Spec.Volumes {
			if v.Name == vm.Name && v.ConfigMap != nil {
				configMounts[vm.MountPath] = true
			}
		}
	}
	files := 0
	for name, value := range env {
		if name == "BRIDGE_ROUTES_FILE" {
			if !configMounts[filepath.Dir(value)] {
				t.Errorf("%s=%s is not inside a mount of a ConfigMap", name, value)
			}
			continue
		}
		if !strings.HasSuffix(name, "_FILE") {
			continue
		}
		files++
		dir, key := filepath.Dir(value), filepath.Base(value)
		if mounts[dir] != secretName {
			t.Errorf("%s=%s is not inside a mount of the Secret %s", name, value, secretName)
		}
		if !secretKeys[key] {
			t.Errorf("%s=%s: the Secret has no key %s", name, value, key)
		}
	}
	if files == 0 || env["BRIDGE_SIGNING_SECRETS_FILE"] == "" {
		t.Error("the signing secrets must come from the Secret (BRIDGE_SIGNING_SECRETS_FILE)")
	}

	for _, obj := range m["Service"] {
		s := obj.(*corev1.Service)
		if !selects(&metav1.LabelSelector{MatchLabels: s.Spec.Selector}, pod.Labels) {
			t.Errorf("Service %s does not select the pods", s.Name)
		}
		for _, p := range s.Spec.Ports {
			if _, ok := ports[p.TargetPort.String()]; !ok {
				t.Errorf("Service %s targets port %s, which the container does not name", s.Name, p.TargetPort.String())
			}
			if s.Name == d.Name && p.TargetPort.String() == "admin" {
				t.Errorf("Service %s exposes the admin port beside the webhooks", s.Name)
			}
		}
	}
	hpa := one[*autoscalingv2.HorizontalPodAutoscaler](t, m, "HorizontalPodAutoscaler")
	if ref := hpa.Spec.ScaleTargetRef; ref.Kind != "Deployment" || ref.Name != d.Name {
		t.Errorf("the HPA scales %s/%s, not the Deployment %s", ref.Kind, ref.Name, d.Name)
	}
	if hpa.Spec.MinReplicas == nil || *hpa.Spec.MinReplicas < 2 {
		t.Error("the HPA must keep at least 2 replicas, so that a restart never leaves Svix without an endpoint")
	}
	pdb := one[*policyv1.PodDisruptionBudget](t, m, "PodDisruptionBudget")
	if !selects(pdb.Spec.Selector, pod.Labels) {
		t.Error("the PodDisruptionBudget does not select the pods")
	}
	np := one[*networkingv1.NetworkPolicy](t, m, "NetworkPolicy")
	if !selects(&np.Spec.PodSelector, pod.Labels) {
		t.Error("the NetworkPolicy does not select the pods")
	}
	for _, rule := range np.Spec.Ingress {
		for _, p := range rule.Ports {
			if _, ok := ports[p.Port.String()]; !ok {
				t.Errorf("NetworkPolicy allows port %s, which the container does not name", p.Port.String())
			}
		}
	}
	job := one[*batchv1.Job](t, m, "Job")
	if args := job.Spec.Template.Spec.Containers[0].Args; len(args) == 0 || args[0] != "topics" {
		t.Errorf("the Job runs %q, want engage-bridge topics", args)
	}
}

// TestAlertRules checks deploy/prometheus/alerts.yaml: the rule file's
// shape, every metric named exists, and docs/operations.md explains each
// alert.
func TestAlertRules(t *testing.T) {
	text, err := os.ReadFile("prometheus/alerts.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Groups []struct {
			Name  string `yaml:"name"`
			Rules []struct {
				Alert       string            `yaml:"alert"`
				Expr        string            `yaml:"expr"`
				For         string            `yaml:"for"`
				Labels      map[string]string `yaml:"labels"`
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(text))
	dec.KnownFields(true)
	if err := dec.Decode(&file); err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("../internal/metrics/metrics.go")
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	for _, m := range regexp.MustCompile(`Name: "(\w+)"`).FindAllSubmatch(src, -1) {
		name := "engage_bridge_" + string(m[1])
		known[name] = true
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			known[name+suffix] = true
		}
	}
	ops, err := os.ReadFile("../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, g := range file.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" || seen[r.Alert] {
				t.Errorf("alert %q: empty or repeated name", r.Alert)
			}
			seen[r.Alert] = true
			if r.For != "" {
				if _, err := time.ParseDuration(r.For); err != nil {
					t.Errorf("%s: for %q: %v", r.Alert, r.For, err)
				}
			}
			if s := r.Labels["severity"]; s != "critical" && s != "warning" && s != "info" {
				t.Errorf("%s: severity %q", r.Alert, s)
			}
			if r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
				t.Errorf("%s: needs a summary and a description", r.Alert)
			}
			names := regexp.MustCompile(`engage_bridge_\w+`).FindAllString(r.Expr, -1)
			if len(names) == 0 {
				t.Errorf("%s: expr names no engage_bridge_ metric", r.Alert)
			}
			for _, n := range names {
				if !known[n] {
					t.Errorf("%s: metric %s does not exist", r.Alert, n)
				}
			}
			if strings.Count(r.Expr, "(") != strings.Count(r.Expr, ")") {
				t.Errorf("%s: unbalanced parentheses in %s", r.Alert, r.Expr)
			}
			if !bytes.Contains(ops, []byte(r.Alert)) {
				t.Errorf("docs/operations.md does not explain %s", r.Alert)
			}
		}
	}
	if len(seen) < 5 {
		t.Errorf("only %d alerts", len(seen))
	}
}

// memLimitBytes parses a GOMEMLIMIT value as the Go runtime does: a number
// of bytes with an optional B, KiB, MiB, GiB or TiB suffix.
func memLimitBytes(v string) (int64, error) {
	units := []struct {
		suffix string
		shift  uint
	}{{"TiB", 40}, {"GiB", 30}, {"MiB", 20}, {"KiB", 10}, {"B", 0}}
	for _, u := range units {
		if n, ok := strings.CutSuffix(v, u.suffix); ok {
			x, err := strconv.ParseInt(n, 10, 64)
			return x << u.shift, err
		}
	}
	return strconv.ParseInt(v, 10, 64)
}
