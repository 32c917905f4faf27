// Package routesfile reads the YAML routing table of BRIDGE_ROUTES_FILE
// into a router.Config, strictly: unknown keys, wrong types and duplicate
// keys are errors, and every error names its line.
//
//	routes:
//	  - match: ["contact.*"]
//	    topic: engage.contact
//	  - match: ["*"]
//	    topic: "engage.{eventType}"
//	fallback: engage.unrouted
//	deadletter: engage.deadletter
//
// match may also be a single string. fallback and deadletter are optional.
// A file without routes is an error: it is almost certainly a mistake, and
// the built-in table is what an unset BRIDGE_ROUTES_FILE gives.
package routesfile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"go.yaml.in/yaml/v3"

	"github.com/engage-bridge/engage-bridge/router"
)

// Load reads and parses a routes file; errors start with its name.
func Load(path string) (router.Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return router.Config{}, fmt.Errorf("%s: %w", filepath.Base(path), errors.Unwrap(err))
	}
	cfg, err := Parse(data)
	if err != nil {
		return router.Config{}, fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	return cfg, nil
}

// Parse reads a routes file's contents.
func Parse(data []byte) (router.Config, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return router.Config{}, err // yaml's own text: "yaml: line 3: ..."
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return router.Config{}, errors.New("the file is empty: it needs a routes list")
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return router.Config{}, lineErr(root, "the file must be a mapping with routes, fallback and deadletter")
	}
	var cfg router.Config
	var haveRoutes bool
	seen := map[string]int{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		key, value := root.Content[i], root.Content[i+1]
		if prev, ok := seen[key.Value]; ok {
			return router.Config{}, lineErr(key, "%q is given twice (first on line %d)", key.Value, prev)
		}
		seen[key.Value] = key.Line
		switch key.Value {
		case "routes":
			routes, err := parseRoutes(value)
			if err != nil {
				return router.Config{}, err
			}
			cfg.Routes, haveRoutes = routes, true
		case "fallback":
			s, err := scalar(value, "fallback")
			if err != nil {
				return router.Config{}, err
			}
			cfg.Fallback, cfg.FallbackLine = s, value.Line
		case "deadletter":
			s, err := scalar(value, "deadletter")
			if err != nil {
				return router.Config{}, err
			}
			cfg.DeadLetter, cfg.DeadLetterLine = s, value.Line
		default:
			return router.Config{}, lineErr(key, "unknown field %q (known: routes, fallback, deadletter)", key.Value)
		}
	}
	if !haveRoutes || len(cfg.Routes) == 0 {
		return router.Config{}, lineErr(root, "no routes: the file needs a non-empty routes list")
	}
	return cfg, nil
}

func parseRoutes(n *yaml.Node) ([]router.Route, error) {
	if n.Kind != yaml.SequenceNode {
		return nil, lineErr(n, "routes must be a list")
	}
	var out []router.Route
	for _, item := range n.Content {
		if item.Kind != yaml.MappingNode {
			return nil, lineErr(item, "a route must be a mapping with match and topic")
		}
		r := router.Route{Line: item.Line}
		var haveMatch, haveTopic bool
		seen := map[string]int{}
		for i := 0; i+1 < len(item.Content); i += 2 {
			key, value := item.Content[i], item.Content[i+1]
			if prev, ok := seen[key.Value]; ok {
				return nil, lineErr(key, "%q is given twice in this route (first on line %d)", key.Value, prev)
			}
			seen[key.Value] = key.Line
			switch key.Value {
			case "match":
				m, err := patterns(value)
				if err != nil {
					return nil, err
				}
				r.Match, haveMatch = m, true
			case "topic":
				s, err := scalar(value, "topic")
				if err != nil {
					return nil, err
				}
				r.Topic, haveTopic = s, true
			default:
				return nil, lineErr(key, "unknown field %q in a route (known: match, topic)", key.Value)
			}
		}
		if !haveMatch {
			return nil, lineErr(item, "the route has no match")
		}
		if !haveTopic {
			return nil, lineErr(item, "the route has no topic")
		}
		out = append(out, r)
	}
	return out, nil
}

func patterns(n *yaml.Node) ([]string, error) {
	switch n.Kind {
	case yaml.ScalarNode:
		s, err := scalar(n, "match")
		return []string{s}, err
	case yaml.SequenceNode:
		out := make([]string, 0, len(n.Content))
		for _, c := range n.Content {
			s, err := scalar(c, "match")
			if err != nil {
				return nil, err
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, lineErr(n, "match must be a pattern or a list of patterns")
}

// scalar accepts a string, quoted or not; other scalar types (numbers,
// booleans) are refused so that a typo cannot become a topic silently.
func scalar(n *yaml.Node, field string) (string, error) {
	if n.Kind != yaml.ScalarNode || (n.Tag != "!!str" && n.Style == 0) {
		return "", lineErr(n, "%s must be a string", field)
	}
	return n.Value, nil
}

func lineErr(n *yaml.Node, format string, args ...any) error {
	return fmt.Errorf("line %d: %s", n.Line, fmt.Sprintf(format, args...))
}
