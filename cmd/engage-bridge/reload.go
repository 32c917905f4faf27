package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/rs/zerolog"

	"github.com/engage-bridge/engage-bridge/ingress"
	"github.com/engage-bridge/engage-bridge/internal/endpoints"
	"github.com/engage-bridge/engage-bridge/internal/filewatch"
	"github.com/engage-bridge/engage-bridge/internal/metrics"
	"github.com/engage-bridge/engage-bridge/internal/payloadcrypto"
)

// The file roles of the reload metrics and log lines.
const (
	roleSigningSecrets = "signing_secrets"
	roleEncryptionKey  = "encryption_key"
	roleAuthToken      = "auth_token"
	roleEndpoints      = "endpoints"
)

// watchers re-read every file a secret came from (and the endpoints file
// with its files) when its content changes, and hand a valid change to the
// handler for the requests that start afterwards. An invalid change keeps
// the previous values; filewatch logs it, naming the file, and counts it.
// Kafka settings are read once: changing them needs a restart.
func watchers(cfg config, h *ingress.Handler, log zerolog.Logger, m *metrics.Metrics) ([]func(context.Context), error) {
	var runs []func(context.Context)
	var errs []error
	// firsts apply each watcher's first load: the files were read before,
	// for the handler, and may have changed since. A watcher takes its
	// first load as applied, so it is applied here, not on a later poll.
	var firsts []func()
	log = log.With().Str("component", "reload").Logger()

	if cfg.EndpointsFile != "" {
		rotate := func(eps []endpoints.Endpoint) {
			for _, e := range eps {
				if err := h.Rotate(ingressEndpoint(e)); err != nil {
					log.Error().Err(err).Str("file", roleEndpoints).Msg("applying the reloaded endpoint")
				}
			}
		}
		w, err := filewatch.New(filewatch.Config[[]endpoints.Endpoint]{
			Name: roleEndpoints,
			Load: func(read filewatch.ReadFunc, running *[]endpoints.Endpoint) ([]endpoints.Endpoint, error) {
				loaded, err := endpoints.Load(cfg.EndpointsFile, read)
				if err != nil {
					return nil, err
				}
				if running == nil {
					if len(cfg.Ingress.Endpoints) == 0 {
						return loaded, nil
					}
					// The first load: the running set is what the
					// handler was built from, read earlier.
					start := startEndpoints(cfg.Ingress.Endpoints, loaded)
					running = &start
				}
				next, restart := endpoints.Reconcile(*running, loaded)
				for _, r := range restart {
					log.Warn().Str("file", roleEndpoints).Str("change", r).
						Msg("this change of the endpoints file needs a restart; the running endpoints, paths and routes stay")
				}
				return next, nil
			},
			OnReload: rotate,
		}, log, m)
		if err != nil {
			errs = append(errs, err)
		} else {
			runs = append(runs, w.Run)
			firsts = append(firsts, func() { rotate(w.Value()) })
		}
	}

	// The single endpoint's secrets and key may come from two files; both
	// are applied together, under one lock, so that neither reload undoes
	// the other.
	var mu sync.Mutex
	var secretsW *filewatch.Watcher[[]ingress.Secret]
	var keyW *filewatch.Watcher[*payloadcrypto.Key]
	apply := func() {
		mu.Lock()
		defer mu.Unlock()
		e := ingress.Endpoint{Name: ingress.DefaultEndpoint, Key: cfg.Ingress.EncryptionKey}
		if secretsW != nil {
			e.Secrets = secretsW.Value()
		} else {
			e.Secrets, _ = ingress.ParseSecrets(cfg.Ingress.SigningSecrets)
		}
		if keyW != nil {
			e.Key = keyW.Value()
		}
		if err := h.Rotate(e); err != nil {
			log.Error().Err(err).Msg("applying the reloaded secrets")
		}
	}
	if path := cfg.Files.SigningSecrets; path != "" && cfg.EndpointsFile == "" {
		w, err := filewatch.New(filewatch.Config[[]ingress.Secret]{
			Name: roleSigningSecrets,
			Load: func(read filewatch.ReadFunc, _ *[]ingress.Secret) ([]ingress.Secret, error) {
				data, err := read(path)
				if err != nil {
					return nil, readError("BRIDGE_SIGNING_SECRETS_FILE", err)
				}
				secrets, err := ingress.ParseSecretsFile(data)
				if err != nil {
					return nil, fmt.Errorf("BRIDGE_SIGNING_SECRETS_FILE: %s", strings.ReplaceAll(err.Error(), "\n", "; "))
				}
				return secrets, nil
			},
			OnReload: func([]ingress.Secret) { apply() },
		}, log, m)
		if err != nil {
			errs = append(errs, err)
		} else {
			secretsW = w
			runs = append(runs, w.Run)
			firsts = append(firsts, apply)
		}
	}
	if path := cfg.Files.EncryptionKey; path != "" && cfg.EndpointsFile == "" {
		w, err := filewatch.New(filewatch.Config[*payloadcrypto.Key]{
			Name: roleEncryptionKey,
			Load: func(read filewatch.ReadFunc, _ **payloadcrypto.Key) (*payloadcrypto.Key, error) {
				data, err := read(path)
				if err != nil {
					return nil, readError("BRIDGE_ENCRYPTION_KEY_FILE", err)
				}
				k, err := payloadcrypto.ParseKey(strings.TrimSpace(string(data)))
				if err != nil {
					return nil, fmt.Errorf("BRIDGE_ENCRYPTION_KEY_FILE: %w", err)
				}
				return &k, nil
			},
			OnReload: func(*payloadcrypto.Key) { apply() },
		}, log, m)
		if err != nil {
			errs = append(errs, err)
		} else {
			keyW = w
			runs = append(runs, w.Run)
			if secretsW == nil {
				firsts = append(firsts, apply)
			}
		}
	}
	if path := cfg.Files.AuthToken; path != "" {
		setToken := func(token string) {
			if err := h.SetAuthToken(token); err != nil {
				log.Error().Err(err).Str("file", roleAuthToken).Msg("applying the reloaded auth token")
			}
		}
		w, err := filewatch.New(filewatch.Config[string]{
			Name: roleAuthToken,
			Load: func(read filewatch.ReadFunc, _ *string) (string, error) {
				data, err := read(path)
				if err != nil {
					return "", readError("BRIDGE_AUTH_TOKEN_FILE", err)
				}
				token := strings.TrimSpace(string(data))
				if token == "" {
					return "", errors.New("BRIDGE_AUTH_TOKEN_FILE: the file is empty")
				}
				return token, nil
			},
			OnReload: setToken,
		}, log, m)
		if err != nil {
			errs = append(errs, err)
		} else {
			runs = append(runs, w.Run)
			firsts = append(firsts, func() { setToken(w.Value()) })
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, &configError{problems: strings.Split(err.Error(), "\n")}
	}
	for _, f := range firsts {
		f()
	}
	return runs, nil
}

// startEndpoints is the running set of the endpoints the handler was
// built from (running), as of loaded, the watcher's first read of the
// file: each keeps its running name and path, so that a path changed,
// or an endpoint added or removed, between the two reads is logged as
// needing a restart. One missing from loaded keeps its running secrets,
// key and tenants.
func startEndpoints(running []ingress.Endpoint, loaded []endpoints.Endpoint) []endpoints.Endpoint {
	out := make([]endpoints.Endpoint, 0, len(running))
	for _, r := range running {
		e := endpoints.Endpoint{Name: r.Name, Secrets: r.Secrets, Key: r.Key, Tenants: r.Tenants}
		for _, l := range loaded {
			if l.Name == r.Name {
				e = l
			}
		}
		e.Path = r.Path
		out = append(out, e)
	}
	return out
}

// readError names an unreadable secret file by its variable and gives the
// system's reason, never its path (an operator may have typed the secret
// where the path belongs) nor its content.
func readError(variable string, err error) error {
	if u := errors.Unwrap(err); u != nil {
		err = u
	}
	return fmt.Errorf("%s: cannot read the file: %w", variable, err)
}
