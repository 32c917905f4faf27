package kafkaconn

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestScramVersionFixed holds go.mod to a xdg-go/scram that does not quote
// the password in its SASLprep error (fixed in v1.3.0; v1.1.2, which
// kafka-go asks for, printed it). Mechanism drops the library's message
// anyway; this keeps the second line of defence from being downgraded.
func TestScramVersionFixed(t *testing.T) {
	t.Parallel()
	mod, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	var version string
	for line := range strings.SplitSeq(string(mod), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "github.com/xdg-go/scram" {
			version = f[1]
		}
	}
	if version == "" {
		t.Fatal("go.mod does not require github.com/xdg-go/scram")
	}
	var parts [3]int
	for i, p := range strings.SplitN(strings.TrimPrefix(strings.SplitN(version, "-", 2)[0], "v"), ".", 3) {
		if parts[i], err = strconv.Atoi(p); err != nil {
			t.Fatalf("version %q: %v", version, err)
		}
	}
	if parts[0] < 1 || (parts[0] == 1 && parts[1] < 3) {
		t.Errorf("go.mod requires github.com/xdg-go/scram %s; v1.3.0 or later is needed (older versions quote a SASL password in errors)", version)
	}
}
