package sqlite

import (
	"database/sql"
	"path/filepath"
	"testing"
)

// TestPragmas checks that both pools run with the settings Open promises,
// on a path that needs no escaping by the caller.
func TestPragmas(t *testing.T) {
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "with space é.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, db := range []struct {
		name string
		db   *sql.DB
	}{{"writer", s.wdb}, {"reader", s.rdb}} {
		for pragma, want := range map[string]string{
			"journal_mode": "wal", "foreign_keys": "1", "busy_timeout": "5000", "synchronous": "1",
		} {
			var got string
			if err := db.db.QueryRowContext(t.Context(), "PRAGMA "+pragma).Scan(&got); err != nil {
				t.Fatalf("%s: pragma %s: %v", db.name, pragma, err)
			}
			if got != want {
				t.Errorf("%s: %s = %s, want %s", db.name, pragma, got, want)
			}
		}
	}
	// The read pool refuses writes, so a write that strays there fails loudly.
	if _, err := s.rdb.ExecContext(t.Context(), `DELETE FROM settings`); err == nil {
		t.Error("the read pool accepted a write")
	}
}
