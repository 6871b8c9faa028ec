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

// TestAgentIntercomUpgrade: migration 00016 moves the built-in Agent
// role's calls.intercom from the reserved none to department, and leaves
// a scope an admin chose as it was.
func TestAgentIntercomUpgrade(t *testing.T) {
	for _, tc := range []struct{ was, want string }{
		{"none", "department"},
		{"any", "any"},
	} {
		t.Run(tc.was, func(t *testing.T) {
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
			if _, err := p.UpTo(t.Context(), 13); err != nil {
				t.Fatalf("migrate to 00013: %v", err)
			}
			if _, err := db.ExecContext(t.Context(), `UPDATE role_perms SET scope = ? WHERE perm = 'calls.intercom'
				AND role_id = (SELECT id FROM roles WHERE builtin = 'agent')`, tc.was); err != nil {
				t.Fatal(err)
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
			if got := r.Perms["calls.intercom"]; got != tc.want {
				t.Errorf("agent calls.intercom after the upgrade: %s, want %s", got, tc.want)
			}
		})
	}
}
