// Package sqlite is the embedded directory.Store: one SQLite file, pure Go
// (modernc.org/sqlite), for a single node that needs no database server.
//
// Writes go through one connection and take the write lock when they begin
// (BEGIN IMMEDIATE), so transactions never deadlock upgrading a read lock and
// the rules checked inside them (last owner, empty groups) cannot race;
// reads use a pool of their own, which WAL lets run beside the writer.
package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/switchboard-pbx/switchboard/directory"
)

//go:embed migrations/*.sql
var migrations embed.FS

var _ directory.Store = (*Store)(nil)

// readConns bounds the read pool: enough for the web UI and the SIP side to
// read beside each other on a small machine.
const readConns = 4

// Store is a directory.Store in one SQLite file.
type Store struct {
	wdb     *sql.DB // one connection, every write
	rdb     *sql.DB // reads only (query_only)
	log     *slog.Logger
	closed  atomic.Bool
	applied []string

	// Statements of the registrar's hot path, prepared once on the writer:
	// parsing them again for every binding was an eighth of a busy
	// registrar's CPU.
	batch      batchStmts // bindingbatch.go
	sipAccount *sql.Stmt  // on rdb
	// saveCall writes a call row (SaveCall), once or twice per call:
	// prepared, it spares the parse that was about half its cost.
	saveCall  *sql.Stmt                      // on wdb
	saveCalls [len(callBatchSizes)]*sql.Stmt // on wdb, by callBatchSizes (SaveCalls)

	userVersion atomic.Uint64 // see UserVersion
}

// Open opens or creates the database file at path and brings its schema up
// to date. The caller closes the Store.
func Open(ctx context.Context, path string, log *slog.Logger) (*Store, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if path == "" || strings.ContainsRune(path, '?') {
		return nil, fmt.Errorf("open sqlite %q: the path must be a file name without '?'", path)
	}
	wdb, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	// One writer: SQLite allows no more, and waiting in the pool (bounded by
	// ctx) beats SQLITE_BUSY after busy_timeout.
	wdb.SetMaxOpenConns(1)
	wdb.SetConnMaxIdleTime(0)
	s := &Store{wdb: wdb, log: log}
	if s.applied, err = s.Migrate(ctx); err != nil {
		wdb.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	if err := s.prepare(ctx); err != nil {
		wdb.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	if n, err := s.fillSearch(ctx); err != nil {
		wdb.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	} else if n > 0 {
		log.Info("search text filled", "path", path, "rows", n)
	}
	rdb, err := sql.Open("sqlite", dsn(path, true))
	if err != nil {
		wdb.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	rdb.SetMaxOpenConns(readConns)
	rdb.SetMaxIdleConns(readConns)
	s.rdb = rdb
	if err := rdb.PingContext(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, s.fail(err))
	}
	if err := s.prepareReads(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	if len(s.applied) > 0 {
		log.Info("database migrated", "path", path, "applied", s.applied)
	}
	return s, nil
}

// prepare prepares the hot statements on the writer connection.
func (s *Store) prepare(ctx context.Context) (err error) {
	if s.saveCall, err = s.wdb.PrepareContext(ctx, saveCallSQL); err != nil {
		return fmt.Errorf("prepare: %w", err)
	}
	if err := s.prepareSaveCalls(ctx); err != nil {
		return err
	}
	return s.prepareBatches(ctx)
}

// prepareReads prepares the hot read statements on the reader pool.
func (s *Store) prepareReads(ctx context.Context) (err error) {
	if s.sipAccount, err = s.rdb.PrepareContext(ctx, sipAccountSQL); err != nil {
		return fmt.Errorf("prepare: %w", err)
	}
	return nil
}

// dsn is the driver's data source name for path: the pragmas every
// connection needs and, for writers, BEGIN IMMEDIATE.
func dsn(path string, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(5000)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	} else {
		q.Add("_pragma", "journal_mode(WAL)")
		q.Set("_txlock", "immediate")
	}
	return path + "?" + q.Encode()
}

// Migrate applies the migrations the database has not seen yet and returns
// their names. Open already migrates, so a later call normally applies
// none; Applied tells what Open did.
func (s *Store) Migrate(ctx context.Context) ([]string, error) {
	dir, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, s.wdb, dir, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	res, err := p.Up(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", s.fail(err))
	}
	names := make([]string, 0, len(res))
	for _, r := range res {
		names = append(names, r.Source.Path)
	}
	return names, nil
}

// Applied returns the names of the migrations Open applied, none when the
// schema was already up to date.
func (s *Store) Applied() []string { return s.applied }

// Ping reports whether the database answers.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.rdb.QueryRowContext(ctx, `SELECT 1`).Scan(&one); err != nil {
		return fmt.Errorf("ping: %w", s.fail(err))
	}
	return nil
}

// Close closes the database; calling it again does nothing.
func (s *Store) Close() error {
	if !s.closed.CompareAndSwap(false, true) {
		return nil
	}
	// SQLite's advice for long-lived connections: refresh the planner's
	// statistics where they are stale, on the way out.
	if _, err := s.wdb.Exec(`PRAGMA optimize`); err != nil {
		s.log.Warn("sqlite optimize", "err", err)
	}
	var errs []error
	if s.rdb != nil {
		errs = append(errs, s.rdb.Close())
	}
	errs = append(errs, s.wdb.Close())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close sqlite: %w", err)
	}
	return nil
}

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// write runs fn in a write transaction and commits when fn returns nil.
func (s *Store) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return s.fail(err)
	}
	defer s.userTxEnded(tx)
	if err := fn(tx); err != nil {
		tx.Rollback()
		return s.fail(err)
	}
	if err := tx.Commit(); err != nil {
		return s.fail(err)
	}
	return nil
}

// fail turns a driver error into the directory vocabulary: errors that are
// already ours pass, connection-level failures become ErrUnavailable, and
// sql.ErrNoRows becomes ErrNotFound. Constraint violations are mapped where
// the statement that caused them is known.
func (s *Store) fail(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, directory.ErrNotFound), errors.Is(err, directory.ErrConflict),
		errors.Is(err, directory.ErrInvalid), errors.Is(err, directory.ErrUnavailable):
		return err
	case errors.Is(err, sql.ErrNoRows):
		return directory.ErrNotFound
	case s.closed.Load(), errors.Is(err, sql.ErrConnDone), errors.Is(err, driver.ErrBadConn),
		errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%w: %w", directory.ErrUnavailable, err)
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_NOMEM, sqlite3.SQLITE_READONLY,
			sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_FULL, sqlite3.SQLITE_CANTOPEN,
			sqlite3.SQLITE_PROTOCOL, sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_INTERRUPT:
			return fmt.Errorf("%w: %w", directory.ErrUnavailable, err)
		}
	}
	return err
}

// isUnique reports whether err is a violation of a UNIQUE or PRIMARY KEY
// constraint, by extended result code.
func isUnique(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	c := se.Code()
	return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}

// isForeignKey reports whether err is a violation of a foreign key.
func isForeignKey(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
}

// now is the time stores write, at the precision they keep.
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// micros stores t as unix microseconds; the zero time is NULL.
func micros(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMicro(), Valid: true}
}

// fromMicros reads a time stored by micros.
func fromMicros(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return time.UnixMicro(v.Int64).UTC()
}

// nullID stores an optional reference: 0 is NULL.
func nullID(id int64) sql.NullInt64 { return sql.NullInt64{Int64: id, Valid: id != 0} }

// nullString stores an optional string: "" is NULL.
func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

// placeholders returns "?, ?, ?" for n values and the values as arguments.
func placeholders(ids []int64) (string, []any) {
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	return strings.TrimSuffix(strings.Repeat("?, ", len(ids)), ", "), args
}

// inIDs returns "col IN (?, …)" with its arguments; an empty list is a
// condition that is false.
func inIDs(col string, ids []int64) (string, []any) {
	if len(ids) == 0 {
		return "0", nil
	}
	ph, args := placeholders(ids)
	return col + " IN (" + ph + ")", args
}

// likePrefix escapes s for LIKE ? ESCAPE '\' as a prefix match.
func likePrefix(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(s) + "%"
}

// parseIDs reads a group_concat of IDs, sorted.
func parseIDs(s sql.NullString) []int64 {
	if !s.Valid || s.String == "" {
		return nil
	}
	parts := strings.Split(s.String, ",")
	ids := make([]int64, 0, len(parts))
	for _, p := range parts {
		if id, err := strconv.ParseInt(p, 10, 64); err == nil {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// uniqueIDs returns ids sorted without duplicates and zeros.
func uniqueIDs(ids []int64) []int64 {
	out := slices.DeleteFunc(slices.Clone(ids), func(id int64) bool { return id == 0 })
	slices.Sort(out)
	return slices.Compact(out)
}

// scanIDs reads one column of IDs.
func scanIDs(rows *sql.Rows) ([]int64, error) {
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// logChange appends an entry to the change log in tx.
func logChange(ctx context.Context, tx *sql.Tx, kind directory.ChangeKind, id int64, key, node string) error {
	markUserChange(tx, kind)
	_, err := tx.ExecContext(ctx, insertChangeSQL, string(kind), id, key, node, now().UnixMicro())
	if err != nil {
		return fmt.Errorf("log change: %w", err)
	}
	return nil
}

// insertChangeSQL logs one change.
const insertChangeSQL = `INSERT INTO changes (kind, id, key, node, at) VALUES (?, ?, ?, ?, ?)`
