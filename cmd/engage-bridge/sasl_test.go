package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestSASLPasswordNeverPrinted is defect 2 of issue 14: with SCRAM and a
// password SASLprep rejects (a control byte), serve printed "Error
// SASLprepping password '<the password>'" (xdg-go/scram v1.1.2). Whatever
// the library says, no line of any command's output holds the password or
// any 6-character piece of it; the problem is named by its variable.
func TestSASLPasswordNeverPrinted(t *testing.T) {
	t.Parallel()
	const password = "s3cret\x01Kafka-pass"
	passwordFile := writeFile(t, "password", password+"\n")
	for _, mech := range []string{"SCRAM-SHA-256", "SCRAM-SHA-512"} {
		for _, source := range []map[string]string{{"BRIDGE_KAFKA_PASSWORD": password}, {"BRIDGE_KAFKA_PASSWORD_FILE": passwordFile}} {
			for _, cmd := range [][]string{{"serve"}, {"topics"}, {"tail", "--exit"}} {
				env := map[string]string{
					"BRIDGE_SIGNING_SECRETS": e2eSecret, "BRIDGE_KAFKA_BROKERS": "127.0.0.1:1",
					"BRIDGE_LISTEN": "127.0.0.1:0", "BRIDGE_ADMIN_LISTEN": "127.0.0.1:0",
					"BRIDGE_KAFKA_SASL_MECHANISM": mech, "BRIDGE_KAFKA_USERNAME": "bridge",
				}
				for k, v := range source {
					env[k] = v
				}
				var out bytes.Buffer
				err := run(t.Context(), cmd, envOf(env), &out, &out)
				code := exitCode(err, &out)
				name := mech + " " + strings.Join(cmd, " ")
				if code != 2 || !strings.Contains(out.String(), "BRIDGE_KAFKA_PASSWORD") {
					t.Errorf("%s: exit %d, output %q; want 2 naming BRIDGE_KAFKA_PASSWORD", name, code, out.String())
				}
				for line := range strings.SplitSeq(out.String(), "\n") {
					for i := 0; i+6 <= len(password); i++ {
						if strings.Contains(line, password[i:i+6]) {
							t.Errorf("%s: line %q holds %q of the password", name, line, password[i:i+6])
						}
					}
				}
			}
		}
	}
}
