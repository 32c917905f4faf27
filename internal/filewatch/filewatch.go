// Package filewatch re-reads configuration files when their content
// changes, so that secrets rotate without a restart.
//
// A Watcher polls: every interval it reads the files its value was built
// from and compares their SHA-256 digests with those of the last load.
// Polling content rather than watching events or modification times sees
// every way a file can change, among them Kubernetes' Secret and ConfigMap
// mounts, where the file is a symlink through ..data and an update
// renames a new ..data symlink over the old one: reading follows the
// links, so the new content is what is hashed. It costs one read of a few
// small files every two seconds.
//
// A change is handed to the Load function; its value replaces the running
// one atomically (requests in flight keep the value they took). A failed
// load keeps the running value and is logged once per change, naming the
// file's role and paths, never their content.
package filewatch

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/engage-bridge/engage-bridge/internal/metrics"
)

// DefaultInterval is the poll interval when Config.Interval is zero: a
// change is seen within 2 s, well inside the 10 s issue 16 allows. (The
// kubelet itself takes up to about a minute to update a mounted Secret.)
const DefaultInterval = 2 * time.Second

// ReadFunc reads one file; os.ReadFile's signature.
type ReadFunc = func(path string) ([]byte, error)

// Config describes one watched value.
type Config[T any] struct {
	// Name is the file's role (signing_secrets, encryption_key,
	// auth_token, endpoints): the file label of the reload metrics and
	// the file field of the log lines. Keep it to a fixed set. Required.
	Name string
	// Load reads its files through read only, so that the watcher knows
	// which files to poll, and builds the value. running is the value in
	// use, nil on the first load, for loads that keep parts of it
	// (endpoints.Reconcile). Its error must not hold file content: it is
	// logged. Required.
	Load func(read ReadFunc, running *T) (T, error)
	// Interval between polls. Default DefaultInterval.
	Interval time.Duration
	// OnReload, when set, is called with each new value once it replaced
	// the running one (not after the first load), from the polling
	// goroutine: to hand the value to what uses it.
	OnReload func(T)
}

// file is one file a load read, and what it held.
type file struct {
	path   string
	digest [sha256.Size]byte
}

// Watcher holds the current value built from some files and reloads it
// when they change.
type Watcher[T any] struct {
	cfg     Config[T]
	log     zerolog.Logger
	metrics *metrics.Metrics
	value   atomic.Pointer[T]

	mu    sync.Mutex // serialises Poll; guards files
	files []file
}

// New loads the value for the first time. An error here is a
// configuration error at start (exit 2); it is not counted as a reload.
func New[T any](cfg Config[T], log zerolog.Logger, m *metrics.Metrics) (*Watcher[T], error) {
	if cfg.Name == "" || cfg.Load == nil || m == nil {
		return nil, errors.New("filewatch: Name, Load and metrics are required")
	}
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	w := &Watcher[T]{cfg: cfg, log: log.With().Str("file", cfg.Name).Logger(), metrics: m}
	v, files, err := w.load(nil)
	if err != nil {
		return nil, err
	}
	w.value.Store(&v)
	w.files = files
	return w, nil
}

// Value returns the value in use. It is safe from any goroutine; callers
// must not modify what it shares (slices, maps).
func (w *Watcher[T]) Value() T { return *w.value.Load() }

// Run polls every interval until ctx is done, then returns.
func (w *Watcher[T]) Run(ctx context.Context) {
	t := time.NewTicker(w.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			_, _ = w.Poll()
		}
	}
}

// Poll checks the files once. When one changed it reloads: reloaded
// reports whether a new value took effect, err why a changed file was
// refused (the running value stays).
func (w *Watcher[T]) Poll() (reloaded bool, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	changed := w.changed()
	if len(changed) == 0 {
		return false, nil
	}
	v, files, err := w.load(w.value.Load())
	// The files as this load saw them are the new baseline either way: a
	// refused change is reported once, and retried when a file changes
	// again.
	w.files = files
	if err != nil {
		w.metrics.ConfigReload(w.cfg.Name, false)
		// The number of changed files, not their paths: a secret file's
		// path is not logged (a secret typed in its place would be).
		w.log.Error().Err(err).Int("changed_files", len(changed)).
			Msg("configuration file changed but was refused; the previous values stay in use")
		return false, err
	}
	w.value.Store(&v)
	if w.cfg.OnReload != nil {
		w.cfg.OnReload(v)
	}
	w.metrics.ConfigReload(w.cfg.Name, true)
	w.log.Info().Int("changed_files", len(changed)).Msg("configuration file reloaded")
	return true, nil
}

// changed returns the paths whose content differs from the last load.
func (w *Watcher[T]) changed() []string {
	var out []string
	for _, f := range w.files {
		if digest(os.ReadFile(f.path)) != f.digest {
			out = append(out, f.path)
		}
	}
	return out
}

// load calls Load with a reader that records each file it reads.
func (w *Watcher[T]) load(running *T) (T, []file, error) {
	var files []file
	read := func(path string) ([]byte, error) {
		data, err := os.ReadFile(path)
		if !slices.ContainsFunc(files, func(f file) bool { return f.path == path }) {
			files = append(files, file{path: path, digest: digest(data, err)})
		}
		return data, err
	}
	v, err := w.cfg.Load(read, running)
	return v, files, err
}

// digest stands for a file's content, or for the reason it could not be
// read, so that a file appearing, vanishing or becoming readable is a
// change too.
func digest(data []byte, err error) [sha256.Size]byte {
	if err != nil {
		if u := errors.Unwrap(err); u != nil {
			err = u
		}
		return sha256.Sum256(fmt.Appendf(nil, "\x00unreadable: %v", err))
	}
	h := sha256.New()
	h.Write([]byte{1})
	h.Write(data)
	return [sha256.Size]byte(h.Sum(nil))
}
