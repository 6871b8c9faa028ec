package main

import (
	"maps"
	"testing"

	"github.com/switchboard-pbx/switchboard/authz"
	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/directory/postgres/pgtest"
	"github.com/switchboard-pbx/switchboard/internal/dirstore"
)

// TestBuiltinRolesMatchAuthz checks that the roles both backends' migrations
// seed are the ones authz defines, and that every stored scope is valid: a
// permission added to the catalog needs a migration in both backends.
func TestBuiltinRolesMatchAuthz(t *testing.T) {
	for name, db := range map[string]func() string{
		"sqlite":   func() string { return "" },
		"postgres": func() string { return pgtest.URL(t) },
	} {
		t.Run(name, func(t *testing.T) {
			st, err := dirstore.Open(t.Context(), db(), t.TempDir(), discardLog())
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			for _, b := range []string{directory.BuiltinOwner, directory.BuiltinAdmin, directory.BuiltinAgent} {
				r, err := st.RoleByBuiltin(t.Context(), b)
				if err != nil {
					t.Fatalf("built-in role %s: %v", b, err)
				}
				if err := authz.ValidatePerms(r.Perms); err != nil {
					t.Errorf("role %s: %v", b, err)
				}
				if want := authz.BuiltinPerms(b); !maps.Equal(r.Perms, want) {
					t.Errorf("role %s seeded with %v, authz defines %v", b, r.Perms, want)
				}
			}
		})
	}
}
