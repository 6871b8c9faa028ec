// Package dirstore opens the directory store a command line names: the
// embedded SQLite file in a data directory, an explicit sqlite:PATH, or
// PostgreSQL. It is the one place that knows both backends, shared by the
// programs in cmd/.
package dirstore

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/directory/postgres"
	"github.com/switchboard-pbx/switchboard/directory/sqlite"
)

// IsPostgres reports whether db names a PostgreSQL database.
func IsPostgres(db string) bool {
	return strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
}

// Valid reports whether db is a form Open understands ("" included).
func Valid(db string) bool {
	return db == "" || IsPostgres(db) || strings.HasPrefix(db, "sqlite:")
}

// Open opens the store named by db (see the package comment) and applies
// its migrations. With db empty the SQLite file is DATA/switchboard.db.
func Open(ctx context.Context, db, data string, log *slog.Logger) (directory.Store, error) {
	if IsPostgres(db) {
		st, err := postgres.Open(ctx, db, log)
		if err != nil {
			return nil, fmt.Errorf("postgres: %w", err)
		}
		return st, nil
	}
	path := strings.TrimPrefix(db, "sqlite:")
	if path == "" {
		if err := os.MkdirAll(data, 0o750); err != nil {
			return nil, fmt.Errorf("data directory: %w", err)
		}
		path = filepath.Join(data, "switchboard.db")
	}
	st, err := sqlite.Open(ctx, path, log)
	if err != nil {
		return nil, fmt.Errorf("sqlite %s: %w", path, err)
	}
	return st, nil
}
