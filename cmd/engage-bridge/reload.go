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
	log = log.With().Str("component", "reload").Logger()

	if cfg.EndpointsFile != "" {
		w, err := filewatch.New(filewatch.Config[[]endpoints.Endpoint]{
			Name: roleEndpoints,
			Load: func(read filewatch.ReadFunc, running *[]endpoints.Endpoint) ([]endpoints.Endpoint, error) {
				loaded, err := endpoints.Load(cfg.EndpointsFile, read)
				if err != nil || running == nil {
					return loaded, err
				}
				next, restart := endpoints.Reconcile(*running, loaded)
				for _, r := range restart {
					log.Warn().Str("file", roleEndpoints).Str("change", r).
						Msg("this change of the endpoints file needs a restart; the running endpoints, paths and routes stay")
				}
				return next, nil
			},
			OnReload: func(eps []endpoints.Endpoint) {
				for _, e := range eps {
					if err := h.Rotate(ingressEndpoint(e)); err != nil {
						log.Error().Err(err).Str("file", roleEndpoints).Msg("applying the reloaded endpoint")
					}
				}
			},
		}, log, m)
		if err != nil {
			errs = append(errs, err)
		} else {
			runs = append(runs, w.Run)
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
					return nil, readError(path, err)
				}
				secrets, err := ingress.ParseSecretsFile(data)
				if err != nil {
					return nil, fmt.Errorf("%s: %s", path, strings.ReplaceAll(err.Error(), "\n", "; "))
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
		}
	}
	if path := cfg.Files.EncryptionKey; path != "" && cfg.EndpointsFile == "" {
		w, err := filewatch.New(filewatch.Config[*payloadcrypto.Key]{
			Name: roleEncryptionKey,
			Load: func(read filewatch.ReadFunc, _ **payloadcrypto.Key) (*payloadcrypto.Key, error) {
				data, err := read(path)
				if err != nil {
					return nil, readError(path, err)
				}
				k, err := payloadcrypto.ParseKey(strings.TrimSpace(string(data)))
				if err != nil {
					return nil, fmt.Errorf("%s: %w", path, err)
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
		}
	}
	if path := cfg.Files.AuthToken; path != "" {
		w, err := filewatch.New(filewatch.Config[string]{
			Name: roleAuthToken,
			Load: func(read filewatch.ReadFunc, _ *string) (string, error) {
				data, err := read(path)
				if err != nil {
					return "", readError(path, err)
				}
				token := strings.TrimSpace(string(data))
				if token == "" {
					return "", fmt.Errorf("%s is empty", path)
				}
				return token, nil
			},
			OnReload: func(token string) {
				if err := h.SetAuthToken(token); err != nil {
					log.Error().Err(err).Str("file", roleAuthToken).Msg("applying the reloaded auth token")
				}
			},
		}, log, m)
		if err != nil {
			errs = append(errs, err)
		} else {
			runs = append(runs, w.Run)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, &configError{problems: strings.Split(err.Error(), "\n")}
	}
	return runs, nil
}

// readError names an unreadable file and the system's reason, never its
// content.
func readError(path string, err error) error {
	if u := errors.Unwrap(err); u != nil {
		err = u
	}
	return fmt.Errorf("cannot read %s: %w", path, err)
}
