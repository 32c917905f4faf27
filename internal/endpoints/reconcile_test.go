package endpoints

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestReconcile(t *testing.T) {
	t.Parallel()
	fsys := files{"/e.yaml": "endpoints:\n" +
		"  - {name: one, path: /1, signing_secrets: [" + secretA + "]}\n" +
		"  - {name: two, path: /2, signing_secrets: [" + secretA + ", " + secretB + "], encryption_key: " + keyA + "}\n"}
	eps, err := Load("/e.yaml", fsys.read)
	if err != nil {
		t.Fatal(err)
	}
	oneSecret, twoSecrets, key := eps[0].Secrets, eps[1].Secrets, eps[1].Key
	a := Endpoint{Name: "a", Path: "/a", Secrets: oneSecret}
	b := Endpoint{Name: "b", Path: "/b", Secrets: oneSecret, RoutesFile: "/r/b.yaml"}

	with := func(e Endpoint, change func(*Endpoint)) Endpoint {
		change(&e)
		return e
	}
	tests := []struct {
		name        string
		running     []Endpoint
		loaded      []Endpoint
		want        []summary
		wantRestart []string
	}{
		{
			name:    "nothing changed",
			running: []Endpoint{a, b}, loaded: []Endpoint{a, b},
			want: summarize([]Endpoint{a, b}),
		},
		{
			name:    "secrets, key and tenants are applied",
			running: []Endpoint{a, b},
			loaded: []Endpoint{
				with(a, func(e *Endpoint) { e.Secrets, e.Key = twoSecrets, key }),
				with(b, func(e *Endpoint) { e.Tenants = []string{"brand-b"} }),
			},
			want: []summary{
				{Name: "a", Path: "/a", Secrets: 2, Key: true},
				{Name: "b", Path: "/b", RoutesFile: "/r/b.yaml", Secrets: 1, Tenants: []string{"brand-b"}},
			},
		},
		{
			name:    "a key and tenants removed are applied",
			running: []Endpoint{with(a, func(e *Endpoint) { e.Key, e.Tenants = key, []string{"x"} })},
			loaded:  []Endpoint{a},
			want:    summarize([]Endpoint{a}),
		},
		{
			name:        "an added endpoint needs a restart; the rest applies",
			running:     []Endpoint{a},
			loaded:      []Endpoint{b, with(a, func(e *Endpoint) { e.Secrets = twoSecrets })},
			want:        []summary{{Name: "a", Path: "/a", Secrets: 2}},
			wantRestart: []string{"endpoint b was added"},
		},
		{
			name:        "a removed endpoint needs a restart and keeps running",
			running:     []Endpoint{a, b},
			loaded:      []Endpoint{b},
			want:        summarize([]Endpoint{a, b}),
			wantRestart: []string{"endpoint a was removed"},
		},
		{
			name:    "a changed path or routes file needs a restart; secrets still apply",
			running: []Endpoint{a, b},
			loaded: []Endpoint{
				with(a, func(e *Endpoint) { e.Path, e.Secrets = "/new-a", twoSecrets }),
				with(b, func(e *Endpoint) { e.RoutesFile = "" }),
			},
			want: []summary{
				{Name: "a", Path: "/a", Secrets: 2},
				{Name: "b", Path: "/b", RoutesFile: "/r/b.yaml", Secrets: 1},
			},
			wantRestart: []string{"endpoint a: path changed", "endpoint b: routes_file changed"},
		},
		{
			name:        "a rename is a removal and an addition",
			running:     []Endpoint{a},
			loaded:      []Endpoint{with(a, func(e *Endpoint) { e.Name = "a2" })},
			want:        summarize([]Endpoint{a}),
			wantRestart: []string{"endpoint a was removed", "endpoint a2 was added"},
		},
		{
			name:        "two endpoints swap paths",
			running:     []Endpoint{a, b},
			loaded:      []Endpoint{with(a, func(e *Endpoint) { e.Path = "/b" }), with(b, func(e *Endpoint) { e.Path = "/a" })},
			want:        summarize([]Endpoint{a, b}),
			wantRestart: []string{"endpoint a: path changed", "endpoint b: path changed"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			running := summarize(tt.running)
			next, restart := Reconcile(tt.running, tt.loaded)
			if diff := cmp.Diff(tt.want, summarize(next)); diff != "" {
				t.Errorf("next (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantRestart, restart); diff != "" {
				t.Errorf("restart (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(running, summarize(tt.running)); diff != "" {
				t.Errorf("Reconcile changed its input (-before +after):\n%s", diff)
			}
		})
	}
}
