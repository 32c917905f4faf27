// Package endpoints reads the endpoints file of BRIDGE_ENDPOINTS_FILE: the
// Engage environments one bridge serves, each on its own path with its own
// signing secrets, optional payload key, tenants and routing table.
//
//	endpoints:
//	  - name: brand-se                     # [a-z0-9-], 1-40 chars, unique
//	    path: /webhooks/engage/brand-se    # unique, starts with /
//	    signing_secrets_file: /run/secrets/brand-se/signing
//	    # signing_secrets: [whsec_...]     # instead of the file
//	    encryption_key_file: /run/secrets/brand-se/key  # or encryption_key
//	    tenants: [brand-se]
//	    routes_file: routes-brand-se.yaml
//
// Relative file paths are relative to the endpoints file. The file is read
// strictly: unknown and repeated keys are errors, and every problem is one
// line naming the endpoint and the key. No error quotes a secret, a key or
// any value that could be one.
//
// Secrets and keys are parsed by the packages that own them (ingress,
// payloadcrypto); what comes back prints as redacted.
package endpoints

import (
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/engage-bridge/engage-bridge/ingress"
	"github.com/engage-bridge/engage-bridge/internal/payloadcrypto"
	"github.com/engage-bridge/engage-bridge/router"
	"github.com/engage-bridge/engage-bridge/router/routesfile"
)

// DefaultName names the one endpoint of the single-endpoint configuration.
const DefaultName = "default"

// Endpoint is one Engage environment as the bridge serves it. Its secrets
// and key print as redacted, so an Endpoint may be logged with %+v.
type Endpoint struct {
	Name    string
	Path    string
	Secrets []ingress.Secret
	// Key decrypts the endpoint's payloads; nil when it has none, and
	// encrypted deliveries are then dead-lettered no_encryption_key.
	Key *payloadcrypto.Key
	// Tenants, when not empty, are the envelope tenants this endpoint
	// accepts; a delivery with another or none is dead-lettered
	// tenant_mismatch.
	Tenants []string
	// RoutesFile is the endpoint's routing table, resolved against the
	// endpoints file; empty means the global one.
	RoutesFile string
}

// Single describes the single-endpoint configuration (BRIDGE_WEBHOOK_PATH,
// BRIDGE_SIGNING_SECRETS, BRIDGE_ENCRYPTION_KEY) as one endpoint named
// default, with no tenant check and the global routing table.
func Single(path string, secrets []ingress.Secret, key *payloadcrypto.Key) Endpoint {
	return Endpoint{Name: DefaultName, Path: path, Secrets: secrets, Key: key}
}

// Error is one problem of an endpoints file.
type Error struct {
	// Endpoint is the endpoint's name, empty while it has no valid one.
	Endpoint string
	// Position is the endpoint's place in the list, from 1; 0 for a
	// problem of the file as a whole.
	Position int
	// Key is the YAML key at fault, such as signing_secrets_file.
	Key  string
	Line int // 0 when unknown
	Err  error
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.Position > 0 || e.Endpoint != "" {
		b.WriteString(who{name: e.Endpoint, pos: e.Position}.String() + ": ")
	}
	if e.Key != "" {
		b.WriteString(e.Key + ": ")
	}
	b.WriteString(e.Err.Error())
	if e.Line > 0 {
		fmt.Fprintf(&b, " (line %d)", e.Line)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Sentinels of Error, checked with errors.Is.
var (
	ErrUnknownKey = errors.New("unknown key")
	ErrRequired   = errors.New("required")
	ErrDuplicate  = errors.New("duplicate")
	ErrRead       = errors.New("cannot read")
)

// The keys of an endpoint, in the order the issue documents them.
const (
	keyName               = "name"
	keyPath               = "path"
	keySigningSecretsFile = "signing_secrets_file"
	keySigningSecrets     = "signing_secrets"
	keyEncryptionKeyFile  = "encryption_key_file"
	keyEncryptionKey      = "encryption_key"
	keyTenants            = "tenants"
	keyRoutesFile         = "routes_file"
)

var knownKeys = []string{
	keyName, keyPath, keySigningSecretsFile, keySigningSecrets,
	keyEncryptionKeyFile, keyEncryptionKey, keyTenants, keyRoutesFile,
}

var (
	namePattern = regexp.MustCompile(`^[a-z0-9-]{1,40}$`)
	// shownKey is what an unknown key must look like to be quoted: a
	// misspelt key. Anything longer could be a pasted secret or key (a
	// payload key is 32 characters, a whsec_ secret longer).
	shownKey = regexp.MustCompile(`^[a-z][a-z0-9_]{0,29}$`)
	// yamlAnchor is how yaml's errors quote an anchor's name.
	yamlAnchor = regexp.MustCompile(`anchor '[^']*'`)
)

// Load reads the endpoints file at path and every file it names, through
// read (os.ReadFile, or a file watcher's reader). It returns the endpoints
// in file order, or every problem joined, one line each.
func Load(path string, read func(string) ([]byte, error)) ([]Endpoint, error) {
	data, err := read(path)
	if err != nil {
		return nil, &Error{Err: readError(path, err)}
	}
	l := loader{dir: filepath.Dir(path), read: read}
	eps := l.parse(data)
	if err := errors.Join(l.errs...); err != nil {
		return nil, err
	}
	return eps, nil
}

// readError describes an unreadable file by its path and the system's
// reason, never its content.
func readError(path string, err error) error {
	if u := errors.Unwrap(err); u != nil {
		err = u
	}
	return fmt.Errorf("%w %s: %w", ErrRead, path, err)
}

// secretReadError describes an unreadable secret file by the system's
// reason only: an operator may have typed the secret where its path
// belongs, so the path is never quoted. The key names the file.
func secretReadError(err error) error {
	if u := errors.Unwrap(err); u != nil {
		err = u
	}
	return fmt.Errorf("%w the file: %w", ErrRead, err)
}

type loader struct {
	dir  string
	read func(string) ([]byte, error)
	errs []error
}

// who names an endpoint in an error: by name once it has a valid one,
// else by position.
type who struct {
	name string
	pos  int // from 1; 0 for the file as a whole
}

func (w who) String() string {
	if w.name != "" {
		return "endpoint " + w.name
	}
	return fmt.Sprintf("endpoint %d", w.pos)
}

func (l *loader) problem(w who, key string, n *yaml.Node, err error) {
	e := &Error{Endpoint: w.name, Position: w.pos, Key: key, Err: err}
	if n != nil {
		e.Line = n.Line
	}
	l.errs = append(l.errs, e)
}

// resolve makes a path of the endpoints file relative to its directory.
func (l *loader) resolve(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(l.dir, p)
}

// deref follows YAML aliases (*name) to the node they stand for.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 16; i++ {
		n = n.Alias
	}
	return n
}

// parse walks the YAML tree rather than decoding into a struct: yaml's
// own type errors quote the start of the offending value ("cannot
// unmarshal !!int `1234567...`"), which could be part of a key.
func (l *loader) parse(data []byte) []Endpoint {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		// The parser's messages name a line and a token kind; only those
		// about anchors quote text from the file: the anchor's name.
		l.problem(who{}, "", nil, fmt.Errorf("not YAML: %s", yamlAnchor.ReplaceAllString(err.Error(), "anchor '…'")))
		return nil
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		l.problem(who{}, "endpoints", nil, fmt.Errorf("%w: the file is empty", ErrRequired))
		return nil
	}
	root := deref(doc.Content[0])
	if root == nil || root.Kind != yaml.MappingNode {
		l.problem(who{}, "", root, errors.New("the file must be a mapping with one key, endpoints"))
		return nil
	}
	var list *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], deref(root.Content[i+1])
		switch {
		case k.Value != "endpoints":
			l.problem(who{}, unknownKey(k.Value), k, fmt.Errorf("%w (the file has one key, endpoints)", ErrUnknownKey))
		case list != nil:
			l.problem(who{}, "endpoints", k, fmt.Errorf("%w: given twice", ErrDuplicate))
		default:
			list = v
		}
	}
	switch {
	case list == nil:
		l.problem(who{}, "endpoints", root, fmt.Errorf("%w: a list of endpoints", ErrRequired))
		return nil
	case list.Kind != yaml.SequenceNode:
		l.problem(who{}, "endpoints", list, errors.New("must be a list of endpoints"))
		return nil
	case len(list.Content) == 0:
		l.problem(who{}, "endpoints", list, fmt.Errorf("%w: at least one endpoint", ErrRequired))
		return nil
	}

	var eps []Endpoint
	names := map[string]bool{}
	paths := map[string]who{} // path -> the endpoint that has it
	for i, item := range list.Content {
		ep, ok := l.endpoint(i+1, deref(item))
		label := who{name: ep.Name, pos: i + 1}
		if ep.Name != "" {
			if _, dup := names[ep.Name]; dup {
				l.problem(label, keyName, item, fmt.Errorf("%w: another endpoint has this name", ErrDuplicate))
				ok = false
			}
			names[ep.Name] = true
		}
		if ep.Path != "" {
			if other, dup := paths[ep.Path]; dup {
				l.problem(label, keyPath, item, fmt.Errorf("%w: %s has the same path", ErrDuplicate, other))
				ok = false
			} else {
				paths[ep.Path] = label
			}
		}
		if ok {
			eps = append(eps, ep)
		}
	}
	return eps
}

func unknownKey(k string) string {
	if shownKey.MatchString(k) {
		return k
	}
	return "a key (not shown)"
}

// endpoint reads one list item. It returns what it could read (name and
// path for the duplicate checks) and whether the whole item is valid.
func (l *loader) endpoint(pos int, n *yaml.Node) (Endpoint, bool) {
	label := who{pos: pos}
	if n == nil || n.Kind != yaml.MappingNode {
		l.problem(label, "", n, errors.New("must be a mapping with name, path and signing secrets"))
		return Endpoint{}, false
	}
	vals := map[string]*yaml.Node{}
	before := len(l.errs)
	var unknown, twice []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], deref(n.Content[i+1])
		switch {
		case !slices.Contains(knownKeys, k.Value):
			unknown = append(unknown, k)
		case vals[k.Value] != nil:
			twice = append(twice, k)
		default:
			vals[k.Value] = v
		}
	}

	var ep Endpoint
	if v := vals[keyName]; v == nil {
		l.problem(label, keyName, n, fmt.Errorf("%w: [a-z0-9-], 1 to 40 characters", ErrRequired))
	} else if s, ok := l.scalar(label, keyName, v); ok {
		if namePattern.MatchString(s) {
			ep.Name, label.name = s, s
		} else {
			l.problem(label, keyName, v, errors.New("must be 1 to 40 of a-z, 0-9 and -"))
		}
	}
	// Problems found before the name was known carry the position; the
	// rest of the item's problems name the endpoint.
	for _, k := range unknown {
		l.problem(label, unknownKey(k.Value), k, fmt.Errorf("%w (known: %s)", ErrUnknownKey, strings.Join(knownKeys, ", ")))
	}
	for _, k := range twice {
		l.problem(label, k.Value, k, fmt.Errorf("%w: given twice", ErrDuplicate))
	}

	if v := vals[keyPath]; v == nil {
		l.problem(label, keyPath, n, fmt.Errorf("%w: the URL path, starting with /", ErrRequired))
	} else if s, ok := l.scalar(label, keyPath, v); ok {
		if err := ingress.ValidPath(s); err != nil {
			l.problem(label, keyPath, v, err)
		} else {
			ep.Path = s
		}
	}

	ep.Secrets = l.secrets(label, n, vals)
	ep.Key = l.key(label, vals)

	if v := vals[keyTenants]; v != nil {
		ep.Tenants = l.tenants(label, v)
	}
	if v := vals[keyRoutesFile]; v != nil {
		if s, ok := l.scalar(label, keyRoutesFile, v); ok {
			ep.RoutesFile = l.resolve(s)
			l.routes(label, v, ep.RoutesFile)
		}
	}
	return ep, len(l.errs) == before
}

// scalar reads a non-empty string value. Its errors never show the value.
func (l *loader) scalar(label who, key string, v *yaml.Node) (string, bool) {
	if v.Kind != yaml.ScalarNode || v.Tag == "!!null" || v.Value == "" {
		l.problem(label, key, v, errors.New("must be a non-empty string"))
		return "", false
	}
	return v.Value, true
}

// secrets reads exactly one of signing_secrets_file and signing_secrets
// and parses them with ingress.
func (l *loader) secrets(label who, n *yaml.Node, vals map[string]*yaml.Node) []ingress.Secret {
	file, list := vals[keySigningSecretsFile], vals[keySigningSecrets]
	switch {
	case file != nil && list != nil:
		l.problem(label, keySigningSecrets, list, fmt.Errorf("set %s or %s, not both", keySigningSecretsFile, keySigningSecrets))
		return nil
	case file != nil:
		p, ok := l.scalar(label, keySigningSecretsFile, file)
		if !ok {
			return nil
		}
		data, err := l.read(l.resolve(p))
		if err != nil {
			l.problem(label, keySigningSecretsFile, file, secretReadError(err))
			return nil
		}
		secrets, err := ingress.ParseSecretsFile(data)
		if err != nil {
			l.problem(label, keySigningSecretsFile, file, oneLine(err))
			return nil
		}
		return secrets
	case list != nil:
		if list.Kind != yaml.SequenceNode {
			l.problem(label, keySigningSecrets, list, errors.New("must be a list of whsec_ secrets"))
			return nil
		}
		texts := make([]string, 0, len(list.Content))
		for i, item := range list.Content {
			item = deref(item)
			if item == nil || item.Kind != yaml.ScalarNode {
				l.problem(label, keySigningSecrets, item, fmt.Errorf("entry %d must be a string", i+1))
				return nil
			}
			texts = append(texts, strings.TrimSpace(item.Value))
		}
		secrets, err := ingress.ParseSecrets(texts)
		if err != nil {
			l.problem(label, keySigningSecrets, list, oneLine(err))
			return nil
		}
		return secrets
	default:
		l.problem(label, keySigningSecretsFile, n, fmt.Errorf("%w: %s or %s", ErrRequired, keySigningSecretsFile, keySigningSecrets))
		return nil
	}
}

// key reads at most one of encryption_key_file and encryption_key and
// parses it with payloadcrypto.
func (l *loader) key(label who, vals map[string]*yaml.Node) *payloadcrypto.Key {
	file, inline := vals[keyEncryptionKeyFile], vals[keyEncryptionKey]
	var text, at string
	var node *yaml.Node
	switch {
	case file != nil && inline != nil:
		l.problem(label, keyEncryptionKey, inline, fmt.Errorf("set %s or %s, not both", keyEncryptionKeyFile, keyEncryptionKey))
		return nil
	case file != nil:
		p, ok := l.scalar(label, keyEncryptionKeyFile, file)
		if !ok {
			return nil
		}
		data, err := l.read(l.resolve(p))
		if err != nil {
			l.problem(label, keyEncryptionKeyFile, file, secretReadError(err))
			return nil
		}
		text, at, node = strings.TrimSpace(string(data)), keyEncryptionKeyFile, file
	case inline != nil:
		s, ok := l.scalar(label, keyEncryptionKey, inline)
		if !ok {
			return nil
		}
		text, at, node = s, keyEncryptionKey, inline
	default:
		return nil
	}
	k, err := payloadcrypto.ParseKey(text)
	if err != nil {
		l.problem(label, at, node, err)
		return nil
	}
	return &k
}

func (l *loader) tenants(label who, v *yaml.Node) []string {
	if v.Kind != yaml.SequenceNode || len(v.Content) == 0 {
		l.problem(label, keyTenants, v, errors.New("must be a non-empty list of tenant names, or left out to accept any tenant"))
		return nil
	}
	out := make([]string, 0, len(v.Content))
	for i, item := range v.Content {
		item = deref(item)
		if item == nil || item.Kind != yaml.ScalarNode || item.Tag == "!!null" || strings.TrimSpace(item.Value) == "" {
			l.problem(label, keyTenants, item, fmt.Errorf("entry %d must be a non-empty string", i+1))
			return nil
		}
		if slices.Contains(out, item.Value) {
			l.problem(label, keyTenants, item, fmt.Errorf("%w: entry %d repeats an earlier one", ErrDuplicate, i+1))
			return nil
		}
		out = append(out, item.Value)
	}
	return out
}

// routes checks that a routes file reads and builds a routing table, with
// the router's own validation, so that a bad one fails at start.
func (l *loader) routes(label who, v *yaml.Node, path string) {
	data, err := l.read(path)
	if err != nil {
		l.problem(label, keyRoutesFile, v, readError(path, err))
		return
	}
	cfg, err := routesfile.Parse(data)
	if err == nil {
		_, err = router.New(cfg)
	}
	if err != nil {
		l.problem(label, keyRoutesFile, v, fmt.Errorf("%s: %w", filepath.Base(path), oneLine(err)))
	}
}

// oneLine keeps a joined error on the problem's one line.
func oneLine(err error) error {
	if !strings.Contains(err.Error(), "\n") {
		return err
	}
	return &joined{err}
}

type joined struct{ err error }

func (j *joined) Error() string { return strings.ReplaceAll(j.err.Error(), "\n", "; ") }
func (j *joined) Unwrap() error { return j.err }
