package sqlite

import (
	"database/sql"
	"io/fs"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/pressly/goose/v3"

	"github.com/switchboard-pbx/switchboard/directory"
)

// TestAgentOutboundUpgrade: migration 00012 gives the built-in Agent role
// calls.outbound crm_and_employees on a database with no user yet (a new
// installation) and leaves an installation in use as it was, where
// agents' phones call out today.
func TestAgentOutboundUpgrade(t *testing.T) {
	for _, tc := range []struct {
		name     string
		withUser bool
		want     string
		agentWas string
	}{
		{"new installation", false, "crm_and_employees", "any"},
		{"in use", true, "any", "any"},
		{"in use, changed by an admin", true, "crm", "crm"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "old.db")
			db, err := sql.Open("sqlite", dsn(path, false))
			if err != nil {
				t.Fatal(err)
			}
			dir, err := fs.Sub(migrations, "migrations")
			if err != nil {
				t.Fatal(err)
			}
			p, err := goose.NewProvider(goose.DialectSQLite3, db, dir, goose.WithDisableGlobalRegistry(true))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.UpTo(t.Context(), 10); err != nil {
				t.Fatalf("migrate to 00010: %v", err)
			}
			qs := []string{`UPDATE role_perms SET scope = '` + tc.agentWas + `' WHERE perm = 'calls.outbound'
				AND role_id = (SELECT id FROM roles WHERE builtin = 'agent')`}
			if tc.withUser {
				qs = append(qs, `INSERT INTO users (name, email, extension, created_at, updated_at)
					VALUES ('Anna Nowak', 'anna@example.pl', '10001', 1, 1)`)
			}
			for _, q := range qs {
				if _, err := db.ExecContext(t.Context(), q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			db.Close()
			s, err := Open(t.Context(), path, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatalf("open the old database: %v", err)
			}
			defer s.Close()
			r, err := s.RoleByBuiltin(t.Context(), directory.BuiltinAgent)
			if err != nil {
				t.Fatal(err)
			}
			if got := r.Perms["calls.outbound"]; got != tc.want {
				t.Errorf("agent calls.outbound after the upgrade: %s, want %s", got, tc.want)
			}
		})
	}
}
