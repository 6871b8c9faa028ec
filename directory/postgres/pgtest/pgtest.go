// Package pgtest gives tests a fresh PostgreSQL database of their own.
//
// The server is the one at SWITCHBOARD_TEST_POSTGRES, by default
// postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable (a user that
// may create databases). When it cannot be reached the test is skipped,
// unless CI=true, where it fails: CI must not pass by skipping.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultAdminURL is the server tests use when SWITCHBOARD_TEST_POSTGRES is
// not set.
const DefaultAdminURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// AdminURL returns the URL of the database tests connect to in order to
// create their own.
func AdminURL() string {
	if u := os.Getenv("SWITCHBOARD_TEST_POSTGRES"); u != "" {
		return u
	}
	return DefaultAdminURL
}

// ErrUnreachable is returned by NewDatabase when the server does not answer.
var ErrUnreachable = errors.New("postgres unreachable")

// URL creates an empty database named sb_test_<random>, drops it (with
// FORCE, closing what is still connected) when the test and the cleanups
// registered after this call are done, and returns its URL. When the server
// cannot be reached the test is skipped, or fails under CI=true.
func URL(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	u, drop, err := NewDatabase(ctx, "sb_test_")
	if errors.Is(err, ErrUnreachable) {
		if os.Getenv("CI") == "true" {
			t.Fatalf("pgtest: %v (CI=true, so this fails instead of skipping)", err)
		}
		t.Skipf("pgtest: %v; skipping (CI=true would fail)", err)
	}
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := drop(ctx); err != nil {
			t.Errorf("pgtest: %v", err)
		}
	})
	return u
}

// NewDatabase creates an empty database named prefix<random> on the server
// of AdminURL and returns its URL and a function that drops it. It is for
// data that outlives one test, such as a benchmark's; tests use URL.
func NewDatabase(ctx context.Context, prefix string) (dbURL string, drop func(context.Context) error, err error) {
	admin := AdminURL()
	u, err := url.Parse(admin)
	if err != nil {
		return "", nil, errors.New("SWITCHBOARD_TEST_POSTGRES is not a URL")
	}
	conn, err := connect(ctx, admin)
	if err != nil {
		return "", nil, fmt.Errorf("%w: %v", ErrUnreachable, err)
	}
	defer conn.Close(ctx)
	b := make([]byte, 8)
	rand.Read(b)
	name := prefix + hex.EncodeToString(b)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", nil, fmt.Errorf("create database %s: %w", name, err)
	}
	drop = func(ctx context.Context) error {
		conn, err := connect(ctx, admin)
		if err != nil {
			return fmt.Errorf("drop database %s: %w", name, err)
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			return fmt.Errorf("drop database %s: %w", name, err)
		}
		return nil
	}
	u.Path = "/" + name
	return u.String(), drop, nil
}

func connect(ctx context.Context, dsn string) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, err
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = 5 * time.Second
	}
	return pgx.ConnectConfig(ctx, cfg)
}
