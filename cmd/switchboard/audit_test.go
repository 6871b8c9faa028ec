package main

import (
	"context"
	"database/sql"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	_ "modernc.org/sqlite"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/directory/postgres/pgtest"
	"github.com/switchboard-pbx/switchboard/internal/dirstore"
)

// `audit verify` passes an untouched log and, after someone with database
// access edits, deletes or inserts an entry, exits 1 naming the first
// entry that no longer fits; SQLite and PostgreSQL.
func TestAuditVerify(t *testing.T) {
	for name, db := range map[string]func(t *testing.T) string{
		"sqlite":   func(*testing.T) string { return "" },
		"postgres": func(t *testing.T) string { return pgtest.URL(t) },
	} {
		t.Run(name, func(t *testing.T) {
			c := newCLI(t)
			url := db(t)
			c.env["SWITCHBOARD_DB"] = url
			st, err := dirstore.Open(t.Context(), url, c.data, discardLog())
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			for i, a := range []string{"user.update", "user.password.reset", "settings.set", "ban.lift", "user.block"} {
				if err := st.Audit(t.Context(), &directory.AuditEntry{Actor: "admin@example.com", IP: "192.0.2.1",
					Action: a, Object: "user:" + strconv.Itoa(i), Before: `{"email":"a@example.com"}`,
					After: `{"email":"b@example.com"}`}); err != nil {
					t.Fatal(err)
				}
			}
			all, err := st.AuditRange(t.Context(), 0, 100)
			if err != nil || len(all) != 5 {
				t.Fatalf("audit range: %d, %v", len(all), err)
			}
			id := func(i int) string { return strconv.FormatInt(all[i].ID, 10) }
			if out := c.ok("", "audit", "verify"); !strings.HasPrefix(out, "ok 5 "+all[4].Hash) {
				t.Fatalf("untouched log: %q", out)
			}
			exec := sqlExec(t, url, filepath.Join(c.data, "switchboard.db"))
			for _, tc := range []struct {
				name, query string
				args        []any
				bad         string
			}{
				{"an edited after", "UPDATE audit_log SET after = '{\"email\":\"x@example.com\"}' WHERE id = ?", []any{all[3].ID}, id(3)},
				{"a removed entry", "DELETE FROM audit_log WHERE id = ?", []any{all[1].ID}, id(2)},
			} {
				exec(tc.query, tc.args...)
				code, out, errs := c.run("", "audit", "verify")
				if code != 1 || !strings.Contains(errs, "audit entry "+tc.bad+" ") || strings.TrimSpace(out) != "bad "+tc.bad {
					t.Errorf("%s: exit %d, stdout %q, stderr %q; want 1 naming entry %s", tc.name, code, out, errs, tc.bad)
				}
			}
		})
	}
}

// sqlExec runs raw SQL on the test's database, as someone with access to
// it would: ? placeholders, rewritten for PostgreSQL.
func sqlExec(t *testing.T, url, sqlitePath string) func(q string, args ...any) {
	if url == "" {
		db, err := sql.Open("sqlite", sqlitePath)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return func(q string, args ...any) {
			t.Helper()
			if _, err := db.ExecContext(t.Context(), q, args...); err != nil {
				t.Fatal(err)
			}
		}
	}
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return func(q string, args ...any) {
		t.Helper()
		for i := 1; strings.Contains(q, "?"); i++ {
			q = strings.Replace(q, "?", "$"+strconv.Itoa(i), 1)
		}
		if _, err := conn.Exec(t.Context(), q, args...); err != nil {
			t.Fatal(err)
		}
	}
}
