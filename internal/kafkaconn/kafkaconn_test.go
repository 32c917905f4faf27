package kafkaconn

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/engage-bridge/engage-bridge/internal/testcert"
)

// controlPassword holds a control byte, which SASLprep rejects.
const controlPassword = "s3cret\x01Kafka-pass"

// pieces are the 6-character pieces of s: none may appear in any output.
func pieces(s string) []string {
	var out []string
	for i := 0; i+6 <= len(s); i++ {
		out = append(out, s[i:i+6])
	}
	return out
}

func quotesAny(text string, secrets ...string) string {
	for _, s := range secrets {
		for _, p := range pieces(s) {
			if strings.Contains(text, p) {
				return p
			}
		}
	}
	return ""
}

// fields lists the Field of each *FieldError in err, in order.
func fields(err error) []string {
	if err == nil {
		return nil
	}
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	var out []string
	for _, e := range errs {
		var fe *FieldError
		if errors.As(e, &fe) {
			out = append(out, fe.Field)
		} else {
			out = append(out, "not a FieldError: "+e.Error())
		}
	}
	return out
}

func TestValidate(t *testing.T) {
	t.Parallel()
	good := Config{Brokers: []string{"kafka-1:9092"}}
	sasl := func(mech, user, pass string) Config {
		c := good
		c.SASL = SASL{Mechanism: mech, Username: user, Password: pass}
		return c
	}
	tests := []struct {
		name string
		cfg  Config
		want []string // fields with a problem
		msg  string   // the whole message, when worth pinning
	}{
		{"good", good, nil, ""},
		{"no brokers", Config{}, []string{"Brokers"}, "Brokers: required (comma-separated host:port)"},
		{"broker without port", Config{Brokers: []string{"kafka-1:9092", "kafka-2", "kafka-3:"}}, []string{"Brokers", "Brokers"},
			"Brokers: \"kafka-2\" is not host:port\nBrokers: \"kafka-3:\" is not host:port"},
		{"client id with a control character", Config{Brokers: good.Brokers, ClientID: "bridge\x01"}, []string{"ClientID"}, ""},
		{"client id too long", Config{Brokers: good.Brokers, ClientID: strings.Repeat("a", 256)}, []string{"ClientID"}, ""},
		{"plain", sasl(MechanismPlain, "u", "p"), nil, ""},
		{"plain takes any password", sasl(MechanismPlain, "u", controlPassword), nil, ""},
		{"scram-sha-256", sasl(MechanismScramSHA256, "u", "p"), nil, ""},
		{"scram-sha-512", sasl(MechanismScramSHA512, "u", "p"), nil, ""},
		{"unknown mechanism", sasl("GSSAPI", "u", "p"), []string{"SASL.Mechanism"}, `SASL.Mechanism: "GSSAPI" is not PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512`},
		{"credentials without mechanism", sasl("", "u", "p"), []string{"SASL.Mechanism"}, ""},
		{"mechanism without credentials", sasl(MechanismPlain, "", ""), []string{"SASL.Username", "SASL.Password"},
			"SASL.Username: required with SASL.Mechanism\nSASL.Password: required with SASL.Mechanism"},
		{"scram password SASLprep rejects", sasl(MechanismScramSHA256, "u", controlPassword), []string{"SASL.Password"}, "SASL.Password: " + ErrSASLprep.Error()},
		{"scram username SASLprep rejects", sasl(MechanismScramSHA512, "u\x7f", "p"), []string{"SASL.Username"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if diff := cmp.Diff(tt.want, fields(err)); diff != "" {
				t.Errorf("fields with problems (-want +got):\n%s\nerror: %v", diff, err)
			}
			if tt.msg != "" && (err == nil || err.Error() != tt.msg) {
				t.Errorf("error %q, want %q", err, tt.msg)
			}
			if err != nil {
				if p := quotesAny(err.Error(), tt.cfg.SASL.Password); p != "" {
					t.Errorf("error %q quotes %q of the password", err, p)
				}
			}
		})
	}
}

// TestSASLPasswordNeverPrinted is defect 2 of issue 14 at the package that
// builds the SCRAM client: with a password SASLprep rejects, neither
// Validate, Mechanism, Transport nor Dialer returns text holding the
// password or any 6-character piece of it (xdg-go/scram v1.1.2 quoted it
// whole).
func TestSASLPasswordNeverPrinted(t *testing.T) {
	t.Parallel()
	for _, mech := range []string{MechanismScramSHA256, MechanismScramSHA512} {
		c := Config{Brokers: []string{"127.0.0.1:1"}, SASL: SASL{Mechanism: mech, Username: "bridge", Password: controlPassword}}
		_, mErr := c.Mechanism()
		_, tErr := c.Transport(0)
		_, dErr := c.Dialer()
		for name, err := range map[string]error{"Validate": c.Validate(), "Mechanism": mErr, "Transport": tErr, "Dialer": dErr} {
			if !errors.Is(err, ErrSASLprep) {
				t.Errorf("%s %s: error %v, want ErrSASLprep", mech, name, err)
				continue
			}
			for _, text := range []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)} {
				if p := quotesAny(text, controlPassword); p != "" {
					t.Errorf("%s %s: %q quotes %q of the password", mech, name, text, p)
				}
			}
		}
	}
}

func TestSASLString(t *testing.T) {
	t.Parallel()
	s := SASL{Mechanism: MechanismScramSHA256, Username: "bridge", Password: "kafka-pass"}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		got := fmt.Sprintf(verb, s)
		if strings.Contains(got, "kafka-pass") {
			t.Errorf("%s prints the password: %q", verb, got)
		}
	}
	if got := (SASL{}).String(); got != "off" {
		t.Errorf("off: %q", got)
	}
	if got, want := s.String(), "SCRAM-SHA-256 user=bridge password=[redacted]"; got != want {
		t.Errorf("String %q, want %q", got, want)
	}
}

func TestTLSFilesLoad(t *testing.T) {
	t.Parallel()
	certs := testcert.New(t)
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("hello\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		files TLSFiles
		want  []string // fields with a problem
		check func(t *testing.T, files TLSFiles)
	}{
		{"off", TLSFiles{}, nil, nil},
		{"system roots", TLSFiles{Enabled: true}, nil, nil},
		{"CA implies TLS", TLSFiles{CAFile: certs.CAFile}, nil, nil},
		{"mutual", TLSFiles{CAFile: certs.CAFile, CertFile: certs.ClientCertFile, KeyFile: certs.ClientKeyFile}, nil, nil},
		{"missing CA", TLSFiles{CAFile: filepath.Join(dir, "none.pem")}, []string{"TLS.CAFile"}, nil},
		{"CA not PEM", TLSFiles{CAFile: notPEM}, []string{"TLS.CAFile"}, nil},
		{"cert without key", TLSFiles{CertFile: certs.ClientCertFile}, []string{"TLS.CertFile"}, nil},
		{"key without cert", TLSFiles{KeyFile: certs.ClientKeyFile}, []string{"TLS.CertFile"}, nil},
		{"key of another cert", TLSFiles{CertFile: certs.ClientCertFile, KeyFile: certs.ServerKeyFile}, []string{"TLS.CertFile"}, nil},
		{"every problem at once", TLSFiles{CAFile: notPEM, CertFile: certs.ClientCertFile}, []string{"TLS.CAFile", "TLS.CertFile"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := tt.files.Load()
			if diff := cmp.Diff(tt.want, fields(err)); diff != "" {
				t.Fatalf("fields with problems (-want +got):\n%s\nerror: %v", diff, err)
			}
			if err != nil {
				if c != nil {
					t.Error("a TLS configuration returned with an error")
				}
				return
			}
			off := tt.files == TLSFiles{}
			if (c == nil) != off {
				t.Fatalf("Load = %v, want TLS %v", c, !off)
			}
			if c == nil {
				return
			}
			if c.MinVersion < 0x0303 {
				t.Errorf("MinVersion %x, want TLS 1.2 or later", c.MinVersion)
			}
			if (c.RootCAs != nil) != (tt.files.CAFile != "") {
				t.Errorf("RootCAs set %v, want %v", c.RootCAs != nil, tt.files.CAFile != "")
			}
			if len(c.Certificates) != map[bool]int{true: 1}[tt.files.CertFile != ""] {
				t.Errorf("%d client certificates", len(c.Certificates))
			}
		})
	}
	// Key material never appears in a message.
	key, err := os.ReadFile(certs.ServerKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	_, err = TLSFiles{CertFile: certs.ClientCertFile, KeyFile: certs.ServerKeyFile}.Load()
	body := strings.Join(strings.Split(string(key), "\n")[1:3], "")
	if p := quotesAny(err.Error(), body); p != "" {
		t.Errorf("error %q quotes key material %q", err, p)
	}
}

func TestTransportAndDialer(t *testing.T) {
	t.Parallel()
	c := Config{Brokers: []string{"kafka-1:9092", "kafka-2:9092"}, SASL: SASL{Mechanism: MechanismPlain, Username: "u", Password: "p"}}
	tr, err := c.Transport(0)
	if err != nil {
		t.Fatal(err)
	}
	if tr.ClientID != "engage-bridge" || tr.DialTimeout.Seconds() != 5 || tr.SASL == nil || tr.TLS != nil {
		t.Errorf("transport defaults: client id %q, dial timeout %v, sasl %v, tls %v", tr.ClientID, tr.DialTimeout, tr.SASL, tr.TLS)
	}
	d, err := c.Dialer()
	if err != nil {
		t.Fatal(err)
	}
	if d.ClientID != "engage-bridge" || d.SASLMechanism == nil {
		t.Errorf("dialer: client id %q, sasl %v", d.ClientID, d.SASLMechanism)
	}
	if got := c.Addr().String(); !strings.Contains(got, "kafka-1:9092") {
		t.Errorf("Addr %q", got)
	}
	if _, err := (Config{SASL: SASL{Mechanism: "GSSAPI"}}).Transport(0); err == nil {
		t.Error("an unknown mechanism gave a transport")
	}
}

// TestMechanism: each configured mechanism gives kafka-go the mechanism of
// that name, and none gives none.
func TestMechanism(t *testing.T) {
	t.Parallel()
	tests := []struct {
		mechanism string
		want      string // the sasl.Mechanism's Name, "" for nil
	}{
		{"", ""},
		{MechanismPlain, "PLAIN"},
		{MechanismScramSHA256, "SCRAM-SHA-256"},
		{MechanismScramSHA512, "SCRAM-SHA-512"},
	}
	for _, tt := range tests {
		t.Run(tt.mechanism, func(t *testing.T) {
			t.Parallel()
			c := Config{Brokers: []string{"kafka-1:9092"}}
			if tt.mechanism != "" {
				c.SASL = SASL{Mechanism: tt.mechanism, Username: "u", Password: "p"}
			}
			mech, err := c.Mechanism()
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			if mech != nil {
				got = mech.Name()
			}
			if got != tt.want {
				t.Errorf("mechanism %q, want %q", got, tt.want)
			}
		})
	}
}

// TestTransportAndDialerSettings: a set ClientID and DialTimeout replace
// the defaults in both the transport and the dialer, and Transport keeps
// the metadata TTL it is given.
func TestTransportAndDialerSettings(t *testing.T) {
	t.Parallel()
	c := Config{Brokers: []string{"kafka-1:9092"}, ClientID: "pos-bridge", DialTimeout: 2 * time.Second}
	tr, err := c.Transport(7 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	d, err := c.Dialer()
	if err != nil {
		t.Fatal(err)
	}
	type settings struct {
		ClientID    string
		DialTimeout time.Duration
		MetadataTTL time.Duration
		SASL        bool
	}
	got := []settings{
		{tr.ClientID, tr.DialTimeout, tr.MetadataTTL, tr.SASL != nil},
		{d.ClientID, d.Timeout, 0, d.SASLMechanism != nil},
	}
	want := []settings{
		{"pos-bridge", 2 * time.Second, 7 * time.Second, false},
		{"pos-bridge", 2 * time.Second, 0, false},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("transport, dialer (-want +got):\n%s", diff)
	}
}
