package postgres

import (
	"io/fs"
	"log/slog"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/directory/postgres/pgtest"
)

// TestUpgradeFillsSearch opens a database made by the migrations up to
// 00005 (before the search column) with users and contacts in it: Open
// migrates it and fills their search text, so the folded search finds
// them at once.
func TestUpgradeFillsSearch(t *testing.T) {
	url := pgtest.URL(t)
	pool, err := pgxpool.New(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	db := stdlib.OpenDBFromPool(pool)
	dir, err := fs.Sub(migrations, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, dir, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(t.Context(), 5); err != nil {
		t.Fatalf("migrate to 00005: %v", err)
	}
	for _, q := range []string{
		`INSERT INTO users (name, email, extension)
			VALUES ('Łukasz Nowak', 'lukasz@example.pl', '10001'), ('Nguyễn Thị Ánh', 'anh@example.vn', '10002')`,
		`INSERT INTO contacts (name, company) VALUES ('Đặng Đức', 'Acme')`,
	} {
		if _, err := pool.Exec(t.Context(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()
	pool.Close()

	s, err := Open(t.Context(), url, slog.New(slog.DiscardHandler))
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
	if err := s.pool.QueryRow(t.Context(),
		`SELECT (SELECT count(*) FROM users WHERE search IS NULL) + (SELECT count(*) FROM contacts WHERE search IS NULL)`,
	).Scan(&missing); err != nil || missing != 0 {
		t.Errorf("%d rows without search text, %v", missing, err)
	}
}
