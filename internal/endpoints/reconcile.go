package endpoints

import "slices"

// Reconcile computes what a re-read of the endpoints file changes in the
// running set. The secrets, key and tenants of each running endpoint are
// taken from the re-read file (they rotate without a restart); the set
// itself, each path and each routes file stay as they run. Every change
// of those is one line of restart, to be logged as needing a restart.
//
// next keeps running's order and holds only running's endpoints.
func Reconcile(running, loaded []Endpoint) (next []Endpoint, restart []string) {
	byName := make(map[string]Endpoint, len(loaded))
	for _, e := range loaded {
		byName[e.Name] = e
	}
	next = make([]Endpoint, 0, len(running))
	for _, r := range running {
		l, ok := byName[r.Name]
		if !ok {
			restart = append(restart, "endpoint "+r.Name+" was removed")
			next = append(next, r)
			continue
		}
		if l.Path != r.Path {
			restart = append(restart, "endpoint "+r.Name+": path changed")
		}
		if l.RoutesFile != r.RoutesFile {
			restart = append(restart, "endpoint "+r.Name+": routes_file changed")
		}
		r.Secrets, r.Key, r.Tenants = l.Secrets, l.Key, l.Tenants
		next = append(next, r)
	}
	for _, l := range loaded {
		if !slices.ContainsFunc(running, func(r Endpoint) bool { return r.Name == l.Name }) {
			restart = append(restart, "endpoint "+l.Name+" was added")
		}
	}
	return next, restart
}
