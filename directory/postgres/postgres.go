// Package postgres is the PostgreSQL backend of directory.Store, for
// production and for several nodes sharing one directory. It speaks to the
// database through pgx and its pool, migrates the schema with goose on Open
// (under an advisory lock, so that nodes starting together migrate once),
// enforces the directory's rules in the database, and announces every change
// with NOTIFY switchboard_changes so that the other nodes refresh what they
// cache.
package postgres

import (
	"cmp"
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"path"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/jackc/puddle/v2"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/switchboard-pbx/switchboard/directory"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Advisory lock keys. Each serializes one kind of change across every node
// sharing the database.
const (
	// lockMigrate is held while goose migrates, so that nodes starting at
	// once do not both apply the same migration.
	lockMigrate int64 = 0x5357_4d49_4752 // "SWMIGR"
	// lockChangeLog is taken just before a transaction appends to the change
	// log and held until it commits, so that change sequence numbers become
	// visible in order and a follower reading "seq > last" never skips one
	// that commits late.
	lockChangeLog int64 = 0x5357_4348_4e47 // "SWCHNG"
	// lockGroupTree serializes moves in the group tree, so that two
	// concurrent moves cannot build a cycle that each alone would not.
	lockGroupTree int64 = 0x5357_5452_4545 // "SWTREE"
)

// Store is a directory.Store on PostgreSQL.
type Store struct {
	pool    *pgxpool.Pool
	log     *slog.Logger
	applied []string // migrations Open applied

	mu        sync.Mutex
	closed    bool
	listeners map[int]context.CancelFunc // Notifications goroutines, stopped by Close
	nextID    int
	wg        sync.WaitGroup

	userVersion atomic.Uint64 // see UserVersion
}

var _ directory.Store = (*Store)(nil)

// Open connects to the database at url (postgres://user:password@host:port/db?…),
// checks that it answers and applies the embedded migrations. An unreachable
// server gives an error wrapping directory.ErrUnavailable.
func Open(ctx context.Context, url string, log *slog.Logger) (*Store, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// The parser's message may quote the URL, password and all.
		return nil, errors.New("open postgres: invalid database url (want postgres://user:password@host:port/database)")
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = 10 * time.Second
	}
	where := describe(cfg.ConnConfig)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open postgres at %s: %w", where, err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		// The server answered and refused (bad credentials, no such
		// database): waiting will not help, unlike a server not answering.
		if pe := (*pgconn.PgError)(nil); errors.As(err, &pe) && !unavailableCode(pe.Code) {
			return nil, fmt.Errorf("connect to postgres at %s: %s (SQLSTATE %s)", where, pe.Message, pe.Code)
		}
		return nil, fmt.Errorf("connect to postgres at %s: %w: %w", where, directory.ErrUnavailable, err)
	}
	s := &Store{pool: pool, log: log, listeners: make(map[int]context.CancelFunc)}
	if s.applied, err = s.Migrate(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres at %s: %w", where, err)
	}
	n, err := s.fillSearch(ctx)
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres at %s: %w", where, err)
	}
	if n > 0 {
		log.Info("search text filled", "db", where, "rows", n)
	}
	log.Info("postgres ready", "db", where)
	return s, nil
}

// describe names the server and database of cfg for messages, without the
// user's password.
func describe(cfg *pgx.ConnConfig) string {
	return fmt.Sprintf("%s/%s", net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port))), cfg.Database)
}

// provider returns a goose provider over the pool; close the *sql.DB after
// use (that leaves the pool open).
func (s *Store) provider() (*goose.Provider, io.Closer, error) {
	dir, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, nil, err
	}
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(lockMigrate), lock.WithLockTimeout(1, 600))
	if err != nil {
		return nil, nil, err
	}
	db := stdlib.OpenDBFromPool(s.pool)
	p, err := goose.NewProvider(goose.DialectPostgres, db, dir,
		goose.WithSessionLocker(locker), goose.WithDisableGlobalRegistry(true))
	if err != nil {
		db.Close()
		return nil, nil, fmt.Errorf("migrations: %w", err)
	}
	return p, db, nil
}

// Migrate applies the migrations the database has not seen yet, under the
// migration lock, and returns their file names. Open already migrates, so a
// later call normally applies none; Applied tells what Open did.
func (s *Store) Migrate(ctx context.Context) ([]string, error) {
	p, db, err := s.provider()
	if err != nil {
		return nil, err
	}
	defer db.Close()
	res, err := p.Up(ctx)
	var names []string
	for _, r := range res {
		if r.Error == nil {
			names = append(names, path.Base(r.Source.Path))
			s.log.Info("migration applied", "version", r.Source.Version, "file", path.Base(r.Source.Path),
				"duration", r.Duration)
		}
	}
	if err != nil {
		return names, mapErr("migrate", err)
	}
	return names, nil
}

// Applied returns the file names of the migrations Open applied, none when
// the schema was already up to date.
func (s *Store) Applied() []string { return s.applied }

// Migration is one embedded schema migration and whether the database has
// it; `switchboard migrate` prints them.
type Migration struct {
	Version   int64
	File      string
	Applied   bool
	AppliedAt time.Time // zero when pending
}

// Migrations reports every embedded migration, oldest first, and whether it
// is applied. Open applies pending ones, so after Open all are.
func (s *Store) Migrations(ctx context.Context) ([]Migration, error) {
	p, db, err := s.provider()
	if err != nil {
		return nil, err
	}
	defer db.Close()
	st, err := p.Status(ctx)
	if err != nil {
		return nil, mapErr("migration status", err)
	}
	out := make([]Migration, 0, len(st))
	for _, m := range st {
		out = append(out, Migration{
			Version:   m.Source.Version,
			File:      path.Base(m.Source.Path),
			Applied:   m.State == goose.StateApplied,
			AppliedAt: m.AppliedAt.UTC(),
		})
	}
	return out, nil
}

// Ping reports whether the database answers.
func (s *Store) Ping(ctx context.Context) error {
	return mapErr("ping", s.pool.Ping(ctx))
}

// Close stops the Notifications goroutines, waits for them and closes the
// pool.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	for _, cancel := range s.listeners {
		cancel()
	}
	s.mu.Unlock()
	s.wg.Wait()
	s.pool.Close()
	return nil
}

// inTx runs fn in a read-committed transaction, committing when fn returns
// nil.
func (s *Store) inTx(ctx context.Context, fn func(pgx.Tx) error) error {
	var ended pgx.Tx
	defer func() { s.userTxEnded(ended) }()
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		ended = tx
		return fn(tx)
	})
}

// inSnapshot runs fn in a read-only transaction that sees one snapshot, for
// reads made of several queries.
func (s *Store) inSnapshot(ctx context.Context, fn func(pgx.Tx) error) error {
	return pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, fn)
}

// Conflicts and invalid references by constraint name. Only constraints a
// caller can run into are listed; anything else is a bug and reported as is.
var (
	uniqueErrors = map[string]error{
		"extensions_pkey":    directory.ErrExtensionTaken,
		"users_email_live":   directory.ErrEmailTaken,
		"roles_name_key":     directory.Conflict("name", "already in use"),
		"groups_one_default": directory.Conflict("default", "there is already a default group"),
		"devices_mac":        directory.ErrMACTaken,
	}
	foreignKeyErrors = map[string]error{
		"user_roles_role_id_fkey":     directory.ErrUnknownRole,
		"user_roles_user_id_fkey":     &directory.InvalidError{Field: "user", Rule: "does not exist"},
		"group_members_group_id_fkey": directory.ErrUnknownGroup,
		"group_members_user_id_fkey":  &directory.InvalidError{Field: "user", Rule: "does not exist"},
		"groups_parent_id_fkey":       &directory.InvalidError{Field: "parent", Rule: "does not exist"},
		"contacts_assigned_to_fkey":   &directory.InvalidError{Field: "assigned_to", Rule: "unknown user"},
		"contacts_created_by_fkey":    &directory.InvalidError{Field: "created_by", Rule: "unknown user"},
		"recordings_call_id_fkey":     directory.ErrUnknownCall,
		"devices_user_id_fkey":        directory.ErrUnknownDeviceUser,
		"user_perms_user_id_fkey":     &directory.InvalidError{Field: "user", Rule: "does not exist"},
	}
	checkErrors = map[string]error{
		"users_state_check":           &directory.InvalidError{Field: "state", Rule: "must be active, blocked or deleted"},
		"users_sip_max_devices_check": &directory.InvalidError{Field: "sip_max_devices", Rule: "must not be negative"},
		"groups_parent_check":         &directory.InvalidError{Field: "parent", Rule: "a group cannot be its own parent"},
		"calls_direction_check":       &directory.InvalidError{Field: "direction", Rule: "must be internal, outbound or inbound"},
		"calls_disposition_check":     &directory.InvalidError{Field: "disposition", Rule: "is not a known disposition"},
		"recordings_state_check":      &directory.InvalidError{Field: "state", Rule: "is not a known recording state"},
	}
)

// mapErr wraps err with op, turning driver errors into the directory's
// vocabulary by code: unique violations into conflicts, foreign key and
// check violations into *InvalidError, no rows into ErrNotFound and
// connection failures into ErrUnavailable.
func mapErr(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, directory.ErrNotFound) || errors.Is(err, directory.ErrConflict) ||
		errors.Is(err, directory.ErrInvalid) || errors.Is(err, directory.ErrUnavailable) {
		return fmt.Errorf("%s: %w", op, err)
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%s: %w", op, directory.ErrNotFound)
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		var known error
		switch pe.Code {
		case "23505": // unique_violation
			known = uniqueErrors[pe.ConstraintName]
			if known == nil {
				known = directory.Conflict(cmp.Or(pe.ColumnName, pe.ConstraintName), "already in use")
			}
		case "23503": // foreign_key_violation
			known = foreignKeyErrors[pe.ConstraintName]
			if known == nil {
				known = &directory.InvalidError{Field: cmp.Or(pe.ColumnName, pe.ConstraintName), Rule: "does not exist"}
			}
		case "23514": // check_violation
			known = checkErrors[pe.ConstraintName]
		}
		if known != nil {
			return fmt.Errorf("%s: %w", op, known)
		}
		if unavailableCode(pe.Code) {
			return fmt.Errorf("%s: %w: %w", op, directory.ErrUnavailable, err)
		}
		return fmt.Errorf("%s: %w", op, err)
	}
	if connectionLost(err) {
		return fmt.Errorf("%s: %w: %w", op, directory.ErrUnavailable, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}

// unavailableCode reports whether a server error means "cannot answer now"
// rather than "no".
func unavailableCode(code string) bool {
	switch {
	case len(code) == 5 && code[:2] == "08": // connection exception
		return true
	case code == "57P01", code == "57P02", code == "57P03": // shutdown, cannot connect now
		return true
	case code == "53300": // too many connections
		return true
	case code == "40001", code == "40P01": // serialization failure, deadlock: try again
		return true
	}
	return false
}

// connectionLost reports whether err came from the connection rather than
// from the statement: the server is down, the pool is closed, the network
// failed or the context ended while waiting.
func connectionLost(err error) bool {
	var ce *pgconn.ConnectError
	var ne net.Error
	return errors.Is(err, puddle.ErrClosedPool) || errors.As(err, &ce) || errors.As(err, &ne) ||
		pgconn.SafeToRetry(err) || pgconn.Timeout(err) || errors.Is(err, pgconn.ErrConnClosed) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// Helpers between Go's zero values and SQL NULL.

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// timeOf turns a scanned nullable timestamp into a UTC time, zero for NULL.
func timeOf(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

// ids returns the distinct values of in, in order of first appearance, and
// never nil (pgx sends a nil slice as NULL).
func ids(in []int64) []int64 {
	out := make([]int64, 0, len(in))
	seen := make(map[int64]bool, len(in))
	for _, id := range in {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// nilIfEmpty keeps empty lists nil in returned values.
func nilIfEmpty[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return s
}

// where collects the conditions and arguments of a list query.
type where struct {
	conds []string
	args  []any
}

// arg adds a value and returns its placeholder.
func (w *where) arg(v any) string {
	w.args = append(w.args, v)
	return "$" + strconv.Itoa(len(w.args))
}

func (w *where) add(cond string) { w.conds = append(w.conds, cond) }

// sql returns the WHERE clause, or "" when there are no conditions.
func (w *where) sql() string {
	if len(w.conds) == 0 {
		return ""
	}
	s := " WHERE " + w.conds[0]
	for _, c := range w.conds[1:] {
		s += " AND " + c
	}
	return s
}
