package kafkaconn

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
)

// TLSFiles names the PEM files of a TLS connection as an operator mounts
// them. Setting any file implies TLS.
type TLSFiles struct {
	// Enabled asks for TLS with the system's roots and no client
	// certificate when no file is set. Default off: plaintext.
	Enabled bool
	// CAFile is a PEM bundle of the brokers' CAs. Default the system roots.
	CAFile string
	// CertFile and KeyFile are a PEM client certificate and its key, for
	// mutual TLS; set both or neither. Default none.
	CertFile string
	KeyFile  string
}

// Load reads the files and returns the TLS configuration, nil when TLS is
// off. Every problem is reported at once, each a *FieldError (TLS.CAFile,
// TLS.CertFile). File contents are never quoted; crypto/tls's messages
// (kept, they say what is wrong) name PEM block types, never key material.
func (f TLSFiles) Load() (*tls.Config, error) {
	if !f.Enabled && f.CAFile == "" && f.CertFile == "" && f.KeyFile == "" {
		return nil, nil
	}
	c := &tls.Config{MinVersion: tls.VersionTLS12}
	var errs []error
	add := func(field string, err error) { errs = append(errs, &FieldError{Field: field, Err: err}) }
	if f.CAFile != "" {
		pem, err := os.ReadFile(f.CAFile)
		pool := x509.NewCertPool()
		switch {
		case err != nil:
			add("TLS.CAFile", fmt.Errorf("cannot read %s: %w", f.CAFile, pathErrorCause(err)))
		case !pool.AppendCertsFromPEM(pem):
			add("TLS.CAFile", fmt.Errorf("%s holds no PEM certificate", f.CAFile))
		default:
			c.RootCAs = pool
		}
	}
	switch {
	case (f.CertFile == "") != (f.KeyFile == ""):
		add("TLS.CertFile", fmt.Errorf("TLS.CertFile and TLS.KeyFile %w", ErrPair))
	case f.CertFile != "":
		cert, err := tls.LoadX509KeyPair(f.CertFile, f.KeyFile)
		if err != nil {
			add("TLS.CertFile", fmt.Errorf("cannot load the client certificate and key: %w", err))
		} else {
			c.Certificates = []tls.Certificate{cert}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return c, nil
}

// pathErrorCause drops the operation and path of an *os.PathError, which
// the message states itself.
func pathErrorCause(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
