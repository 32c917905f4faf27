package main

import (
	"errors"
	"strings"

	"github.com/engage-bridge/engage-bridge/ingress"
)

// ingressVariable names the variable that sets an ingress.Config field.
func ingressVariable(field string) string {
	switch field {
	case "Path":
		return "BRIDGE_WEBHOOK_PATH"
	case "MaxBodyBytes":
		return "BRIDGE_MAX_BODY_BYTES"
	case "SigningSecrets":
		return "BRIDGE_SIGNING_SECRETS"
	case "Tolerance":
		return "BRIDGE_TIMESTAMP_TOLERANCE"
	case "AuthHeader":
		return "BRIDGE_AUTH_HEADER"
	case "AuthToken":
		return "BRIDGE_AUTH_TOKEN"
	case "PublishTimeout":
		return "BRIDGE_PUBLISH_TIMEOUT"
	case "MaxInFlight":
		return "BRIDGE_MAX_IN_FLIGHT"
	case "Endpoints":
		return "BRIDGE_ENDPOINTS_FILE"
	}
	return "BRIDGE_*"
}

// ingressConfig reads the webhook listener's variables; ingress checks
// them (Config.Validate), cmd only parses text and names variables.
//
// With an endpoints file, the endpoints come from it instead of
// BRIDGE_WEBHOOK_PATH, BRIDGE_SIGNING_SECRETS and BRIDGE_ENCRYPTION_KEY.
func (v *values) ingressConfig(endpointsFile string) ingress.Config {
	var in ingress.Config
	if endpointsFile != "" {
		in.Endpoints = v.endpoints(endpointsFile)
		if in.Endpoints == nil {
			// The file's own problems are reported; not a missing secret.
			v.failed["BRIDGE_SIGNING_SECRETS"] = true
		}
	} else {
		in.Path = v.get("BRIDGE_WEBHOOK_PATH")
		in.SigningSecrets = v.secrets("BRIDGE_SIGNING_SECRETS")
		in.EncryptionKey = v.encryptionKey()
	}
	in.Tolerance = v.duration("BRIDGE_TIMESTAMP_TOLERANCE", false)
	in.MaxBodyBytes = v.integer("BRIDGE_MAX_BODY_BYTES", 1, 64<<20)
	var err error
	if in.AllowedIPs, err = ingress.ParsePrefixes(v.get("BRIDGE_ALLOWED_IPS"), true); err != nil {
		v.problem("BRIDGE_ALLOWED_IPS", "%v (or the word svix-eu)", err)
	}
	if in.TrustedProxies, err = ingress.ParsePrefixes(v.get("BRIDGE_TRUSTED_PROXIES"), false); err != nil {
		v.problem("BRIDGE_TRUSTED_PROXIES", "%v", err)
	}
	in.AuthHeader = v.get("BRIDGE_AUTH_HEADER")
	in.AuthToken = v.get("BRIDGE_AUTH_TOKEN")
	in.PublishTimeout = v.publishTimeout()
	in.MaxInFlight = int(v.integer("BRIDGE_MAX_IN_FLIGHT", 1, 1_000_000))
	v.ingressProblems(in.Validate())
	return in
}

// ingressProblems records each of ingress's *FieldErrors under the
// variable that sets its field (BRIDGE_SIGNING_SECRETS_FILE when the
// secrets came from it), with the fields a "required" names renamed too. A
// variable whose text already had a problem gets no second one.
func (v *values) ingressProblems(err error) {
	if err == nil {
		return
	}
	errs := []error{err}
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		errs = joined.Unwrap()
	}
	rename := strings.NewReplacer("AuthHeader", ingressVariable("AuthHeader"), "AuthToken", ingressVariable("AuthToken"))
	for _, e := range errs {
		var fe *ingress.FieldError
		if !errors.As(e, &fe) {
			v.problem("BRIDGE_*", "%v", e)
			continue
		}
		name := ingressVariable(fe.Field)
		if v.failed[name] {
			continue
		}
		msg := strings.ReplaceAll(fe.Err.Error(), "\n", "; ")
		required := errors.Is(fe.Err, ingress.ErrRequired)
		if required { // names other fields; other messages may quote a value
			msg = rename.Replace(msg)
		}
		if fe.Field == "SigningSecrets" {
			if required {
				msg += " (or BRIDGE_SIGNING_SECRETS_FILE)"
			}
			name = v.source(name)
		}
		v.problem(name, "%s", msg)
	}
}
