package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/engage-bridge/engage-bridge/internal/kafkaops"
	"github.com/engage-bridge/engage-bridge/schemas"
)

// Demo credentials of `dev`. They are public, in this file and in the
// README: for a laptop only, never for real deliveries.
const (
	// devSigningSecret is whsec_ + base64("engage-bridge-dev-secret").
	devSigningSecret = "whsec_ZW5nYWdlLWJyaWRnZS1kZXYtc2VjcmV0"
	devEncryptionKey = "DevOnlyInsecureEngageBridgeKey00"
	devKafkaAddr     = "127.0.0.1:9092"
	// devPartitions is topics' default, so that `topics` against dev's
	// broker finds every topic as it would have made it.
	devPartitions = defaultPartitions
)

// devDefaults are what dev changes from serve's defaults: loopback
// listeners, demo secrets, people's log format.
func devDefaults() map[string]string {
	return map[string]string{
		"BRIDGE_LISTEN":          "127.0.0.1:8080",
		"BRIDGE_ADMIN_LISTEN":    "127.0.0.1:9090",
		"BRIDGE_SIGNING_SECRETS": devSigningSecret,
		"BRIDGE_ENCRYPTION_KEY":  devEncryptionKey,
		"BRIDGE_LOG_FORMAT":      "console",
	}
}

func runDev(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("dev", "dev [flags]", stderr)
	defaults := devDefaults()
	withDefaults := func(name string) string {
		if v := getenv(name); v != "" {
			return v
		}
		if getenv(name+"_FILE") != "" {
			return ""
		}
		return defaults[name]
	}
	v := newValues(fs, withDefaults)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg := v.bridgeConfig(false)
	if cfg.EndpointsFile != "" {
		v.problem("BRIDGE_ENDPOINTS_FILE", "dev serves one endpoint; unset it (serve takes it)")
	}
	if err := v.err(); err != nil {
		return err
	}
	log := newLogger(stderr, cfg.LogFormat, cfg.LogLevel)

	embedded := len(cfg.Kafka.Brokers) == 0
	if embedded {
		cluster, err := kfake.NewCluster(
			kfake.Ports(9092),
			kfake.NumBrokers(1),
			kfake.DefaultNumPartitions(devPartitions),
		)
		if err != nil {
			return fmt.Errorf("starting the embedded Kafka on %s: %w (is another Kafka running? set BRIDGE_KAFKA_BROKERS to use it)", devKafkaAddr, err)
		}
		defer cluster.Close()
		cfg.Kafka.Brokers = cluster.ListenAddrs()
	}

	topics, err := createTopics(ctx, cfg, devPartitions, 1)
	if err != nil {
		return err
	}
	logConfig(log, cfg)
	b, err := newBridge(cfg, log)
	if err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- b.run(ctx) }()

	waitCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := b.admin.Wait(waitCtx); err != nil {
		log.Warn().Msg("Kafka is not ready yet; the banner's send command will get 503 until it is")
	}
	printDevBanner(stdout, b, cfg, topics, embedded, getenv)
	return <-done
}

// createTopics creates the routing table's topics if missing, sized for a
// body of BRIDGE_MAX_BODY_BYTES plus headers.
func createTopics(ctx context.Context, cfg config, partitions, replicationFactor int) ([]string, error) {
	maxBody := cfg.Ingress.MaxBodyBytes
	var specs []kafkaops.TopicSpec
	for _, t := range allTopics(cfg.tables()) {
		specs = append(specs, kafkaops.TopicSpec{
			Name: t, Partitions: partitions, ReplicationFactor: replicationFactor,
			Configs: map[string]string{"max.message.bytes": fmt.Sprint(kafkaops.MaxMessageBytes(maxBody))},
		})
	}
	var states []kafkaops.TopicState
	err := withOps(ctx, cfg.Kafka, 15*time.Second, func(ctx context.Context, ops *kafkaops.Client) error {
		var err error
		states, err = ops.EnsureTopics(ctx, specs)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("creating topics on %s: %w", strings.Join(cfg.Kafka.Brokers, ","), err)
	}
	names := make([]string, len(states))
	for i, s := range states {
		names[i] = s.Name
	}
	return names, nil
}

// selfCommand is how the person who started dev runs this program again.
func selfCommand() string {
	if exe := os.Args[0]; strings.Contains(exe, "go-build") || strings.HasPrefix(exe, os.TempDir()) {
		return "go run ./cmd/engage-bridge"
	}
	return "engage-bridge"
}

func printDevBanner(w io.Writer, b *bridge, cfg config, topics []string, embedded bool, getenv func(string) string) {
	self := selfCommand()
	secret := cfg.Ingress.SigningSecrets[0]
	demo := secret == devSigningSecret
	kafkaNote := "(your Kafka)"
	if embedded {
		kafkaNote = "(embedded kfake broker, in memory)"
	}
	fmt.Fprintf(w, `
engage-bridge dev is ready. For local use only.

  webhook   POST %s
  admin     %s/healthz  %s/readyz  %s/metrics
  kafka     %s %s
  topics    %s
`, b.webhookURL(), b.adminURL(), b.adminURL(), b.adminURL(), strings.Join(cfg.Kafka.Brokers, ","), kafkaNote, strings.Join(topics, " "))
	if demo {
		fmt.Fprintf(w, "  secret    %s   INSECURE demo signing secret\n", devSigningSecret)
	}
	if getenv("BRIDGE_ENCRYPTION_KEY") == "" && getenv("BRIDGE_ENCRYPTION_KEY_FILE") == "" {
		fmt.Fprintf(w, "  key       %s   INSECURE demo encryption key\n", devEncryptionKey)
	}
	secretArg := "--secret " + devSigningSecret
	if !demo {
		secretArg = "--secret \"$BRIDGE_SIGNING_SECRETS\""
	}
	keyArg := devEncryptionKey
	if cfg.Ingress.EncryptionKey == nil {
		keyArg = "<key>"
	} else if getenv("BRIDGE_ENCRYPTION_KEY") != "" || getenv("BRIDGE_ENCRYPTION_KEY_FILE") != "" {
		keyArg = "\"$BRIDGE_ENCRYPTION_KEY\""
	}
	fmt.Fprintf(w, `
Send a signed sample event (in another terminal):

  %s send --url %s %s --event %s

Send every documented event type, the payloads encrypted as Engage does:

  %s send --url %s %s --encrypt --encryption-key %s

See the records:

  %s tail --kafka-brokers %s --exit

`, self, b.webhookURL(), secretArg, schemas.EventContactUpdated,
		self, b.webhookURL(), secretArg, keyArg,
		self, strings.Join(cfg.Kafka.Brokers, ","))
}
