package main

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/engage-bridge/engage-bridge/ingress"
	"github.com/engage-bridge/engage-bridge/internal/endpoints"
)

// The watcher's first read of the endpoints file is reconciled against
// what the handler was built from: a change between the two start-up reads
// rotates the secrets and logs what needs a restart.
func TestStartEndpointsReconcile(t *testing.T) {
	t.Parallel()
	oldS, err := ingress.ParseSecrets([]string{e2eSecret})
	if err != nil {
		t.Fatal(err)
	}
	newS, err := ingress.ParseSecrets([]string{e2eSecret2})
	if err != nil {
		t.Fatal(err)
	}
	running := []ingress.Endpoint{{Name: "a", Path: "/a", Secrets: oldS}, {Name: "b", Path: "/b", Secrets: oldS}}
	for _, tt := range []struct {
		name        string
		loaded      []endpoints.Endpoint
		wantPaths   []string
		wantRestart []string
		wantNew     []bool // whether each endpoint got newS
	}{
		{"secret rotated", []endpoints.Endpoint{{Name: "a", Path: "/a", Secrets: newS}, {Name: "b", Path: "/b", Secrets: oldS}},
			[]string{"/a", "/b"}, nil, []bool{true, false}},
		{"path changed", []endpoints.Endpoint{{Name: "a", Path: "/x", Secrets: newS}, {Name: "b", Path: "/b", Secrets: oldS}},
			[]string{"/a", "/b"}, []string{"endpoint a: path changed"}, []bool{true, false}},
		{"removed and added", []endpoints.Endpoint{{Name: "a", Path: "/a", Secrets: newS}, {Name: "c", Path: "/c", Secrets: newS}},
			[]string{"/a", "/b"}, []string{"endpoint b was removed", "endpoint c was added"}, []bool{true, false}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			next, restart := endpoints.Reconcile(startEndpoints(running, tt.loaded), tt.loaded)
			var paths []string
			var gotNew []bool
			for _, e := range next {
				paths = append(paths, e.Path)
				gotNew = append(gotNew, len(e.Secrets) == 1 && &e.Secrets[0] == &newS[0]) // the same parsed secret
			}
			if d := cmp.Diff(tt.wantPaths, paths); d != "" {
				t.Errorf("paths (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tt.wantRestart, restart); d != "" {
				t.Errorf("restart (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tt.wantNew, gotNew); d != "" {
				t.Errorf("new secret (-want +got):\n%s", d)
			}
		})
	}
}
