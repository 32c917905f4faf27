package main

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/engage-bridge/engage-bridge/internal/kafkaconn"
	"github.com/engage-bridge/engage-bridge/internal/kafkaops"
	"github.com/engage-bridge/engage-bridge/publisher"
)

// opsTimeout bounds a one-shot operator command's whole exchange with
// Kafka (topics, replay), so that an unreachable cluster ends it with an
// error instead of a hang.
const opsTimeout = 30 * time.Second

// withOps opens an operations client on conn, runs do with it and closes
// it. A positive timeout bounds do's context; tail, which follows until
// interrupted, passes 0.
func withOps(ctx context.Context, conn kafkaconn.Config, timeout time.Duration, do func(context.Context, *kafkaops.Client) error) error {
	ops, err := kafkaops.New(conn)
	if err != nil {
		return err
	}
	defer ops.Close()
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	return do(ctx, ops)
}

// kafkaSettings are the variables of the Kafka connection, shared by every
// command that talks to Kafka.
func kafkaSettings() []string {
	return []string{
		"BRIDGE_KAFKA_BROKERS", "BRIDGE_KAFKA_TLS", "BRIDGE_KAFKA_CA_FILE", "BRIDGE_KAFKA_CERT_FILE",
		"BRIDGE_KAFKA_KEY_FILE", "BRIDGE_KAFKA_SASL_MECHANISM", "BRIDGE_KAFKA_USERNAME",
		"BRIDGE_KAFKA_PASSWORD", "BRIDGE_KAFKA_CLIENT_ID",
	}
}

// kafkaVariable names the variable that sets a kafkaconn field.
func kafkaVariable(field string) string {
	switch field {
	case "Brokers":
		return "BRIDGE_KAFKA_BROKERS"
	case "ClientID":
		return "BRIDGE_KAFKA_CLIENT_ID"
	case "TLS.CAFile":
		return "BRIDGE_KAFKA_CA_FILE"
	case "TLS.CertFile":
		return "BRIDGE_KAFKA_CERT_FILE"
	case "TLS.KeyFile":
		return "BRIDGE_KAFKA_KEY_FILE"
	case "SASL.Mechanism":
		return "BRIDGE_KAFKA_SASL_MECHANISM"
	case "SASL.Username":
		return "BRIDGE_KAFKA_USERNAME"
	case "SASL.Password":
		return "BRIDGE_KAFKA_PASSWORD"
	}
	return "BRIDGE_KAFKA_*"
}

// kafkaConfig reads the Kafka connection; kafkaconn checks it. brokersRequired
// is false where a command has its own default (dev starts a broker).
func (v *values) kafkaConfig(brokersRequired bool) kafkaconn.Config {
	c := kafkaconn.Config{
		Brokers:  v.list("BRIDGE_KAFKA_BROKERS"),
		ClientID: v.get("BRIDGE_KAFKA_CLIENT_ID"),
	}
	var err error
	c.TLS, err = kafkaconn.TLSFiles{
		Enabled:  v.boolean("BRIDGE_KAFKA_TLS"),
		CAFile:   v.get("BRIDGE_KAFKA_CA_FILE"),
		CertFile: v.get("BRIDGE_KAFKA_CERT_FILE"),
		KeyFile:  v.get("BRIDGE_KAFKA_KEY_FILE"),
	}.Load()
	v.kafkaProblems(err, brokersRequired)
	c.SASL = kafkaconn.SASL{
		Mechanism: strings.ToUpper(v.get("BRIDGE_KAFKA_SASL_MECHANISM")),
		Username:  v.get("BRIDGE_KAFKA_USERNAME"),
		Password:  v.get("BRIDGE_KAFKA_PASSWORD"),
	}
	v.kafkaProblems(c.Validate(), brokersRequired)
	return c
}

// compression reads the producer's codec; publisher checks it.
func (v *values) compression() publisher.Compression {
	c := publisher.Compression(strings.ToLower(v.get("BRIDGE_KAFKA_COMPRESSION")))
	if err := c.Validate(); err != nil {
		v.problem("BRIDGE_KAFKA_COMPRESSION", "%v", err)
	}
	return c
}

// kafkaProblems records each of kafkaconn's *FieldErrors under the variable
// that sets its field, with the other fields a "required" or "set together"
// names renamed too (other messages may quote a value, and are kept). A
// "required" is dropped when its variable already has a problem (set
// twice, file unreadable), or for the brokers when a command has its own.
func (v *values) kafkaProblems(err error, brokersRequired bool) {
	if err == nil {
		return
	}
	errs := []error{err}
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		errs = joined.Unwrap()
	}
	rename := strings.NewReplacer(
		"SASL.Mechanism", kafkaVariable("SASL.Mechanism"), "SASL.Username", kafkaVariable("SASL.Username"),
		"SASL.Password", kafkaVariable("SASL.Password"), "TLS.CAFile", kafkaVariable("TLS.CAFile"),
		"TLS.CertFile", kafkaVariable("TLS.CertFile"), "TLS.KeyFile", kafkaVariable("TLS.KeyFile"),
	)
	for _, e := range errs {
		var fe *kafkaconn.FieldError
		if !errors.As(e, &fe) {
			v.problem("BRIDGE_KAFKA_*", "%v", e)
			continue
		}
		name, msg := kafkaVariable(fe.Field), fe.Err.Error()
		switch {
		case errors.Is(fe.Err, kafkaconn.ErrRequired):
			if fe.Field != "Brokers" || brokersRequired {
				v.required(name, "%s", rename.Replace(msg))
			}
		case errors.Is(fe.Err, kafkaconn.ErrPair):
			v.problem(name, "%s", rename.Replace(msg))
		default: // may quote a value: not renamed
			v.problem(name, "%s", msg)
		}
	}
}
