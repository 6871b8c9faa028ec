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

// TestUpgradeFillsSearch opens a database made by the migrations up to
// 00005 (before the search column) with users and contacts in it: Open
// migrates it and fills their search text, so the folded search finds
// them at once.
func TestUpgradeFillsSearch(t *testing.T) {
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
	if _, err := p.UpTo(t.Context(), 5); err != nil {
		t.Fatalf("migrate to 00005: %v", err)
	}
	for _, q := range []string{
		`INSERT INTO users (name, email, extension, created_at, updated_at)
			VALUES ('Łukasz Nowak', 'lukasz@example.pl', '10001', 1, 1), ('Nguyễn Thị Ánh', 'anh@example.vn', '10002', 1, 1)`,
		`INSERT INTO contacts (name, company, created_at, updated_at) VALUES ('Đặng Đức', 'Acme', 1, 1)`,
	} {
		if _, err := db.ExecContext(t.Context(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()

	s, err := Open(t.Context(), path, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("open the old database: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	all := directory.Visibility{All: true}
	for search, want := range map[string]string{"lukasz": "Łukasz Nowak", "ANH": "Nguyễn Thị Ánh"} {
		us, err := s.Users(t.Context(), directory.UserFilter{Search: search, Vis: all})
		if err != nil || len(us) != 1 || us[0].Name != want {
			t.Errorf("search %q after the upgrade: %+v, %v; want %s", search, us, err, want)
		}
	}
	cs, err := s.Contacts(t.Context(), directory.ContactFilter{Search: "dang duc", Vis: all})
	if err != nil || len(cs) != 1 {
		t.Errorf("contact search after the upgrade: %+v, %v", cs, err)
	}
	var missing int
	if err := s.rdb.QueryRowContext(t.Context(),
		`SELECT (SELECT count(*) FROM users WHERE search IS NULL) + (SELECT count(*) FROM contacts WHERE search IS NULL)`,
	).Scan(&missing); err != nil || missing != 0 {
		t.Errorf("%d rows without search text, %v", missing, err)
	}
}
