package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"

	"github.com/switchboard-pbx/switchboard/directory"
)

// Setting returns the value of key, or its default.
func (s *Store) Setting(ctx context.Context, key string) (string, error) {
	var v string
	err := s.pool.QueryRow(ctx, "SELECT value FROM settings WHERE key = $1", key).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return directory.SettingDefaults[key], nil
	}
	return v, mapErr("setting "+key, err)
}

// SetSetting validates and writes a value. The default role must exist;
// it is locked so that it cannot be deleted before this commits.
func (s *Store) SetSetting(ctx context.Context, key, value string) error {
	op := "set setting " + key
	if err := directory.ValidateSetting(key, value); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if key == directory.SettingDefaultRole {
			id, _ := strconv.ParseInt(value, 10, 64)
			var found bool
			err := tx.QueryRow(ctx, "SELECT true FROM roles WHERE id = $1 FOR KEY SHARE", id).Scan(&found)
			if errors.Is(err, pgx.ErrNoRows) {
				return &directory.InvalidError{Field: key, Rule: "no such role"}
			}
			if err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `INSERT INTO settings (key, value) VALUES ($1, $2)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value); err != nil {
			return err
		}
		return logChanges(ctx, tx, directory.Change{Kind: directory.ChangeSetting, Key: key})
	})
	return mapErr(op, err)
}

// Settings returns every key with a value or a default.
func (s *Store) Settings(ctx context.Context) (map[string]string, error) {
	rows, err := s.pool.Query(ctx, "SELECT key, value FROM settings")
	if err != nil {
		return nil, mapErr("settings", err)
	}
	m := make(map[string]string, len(directory.SettingDefaults))
	for k, v := range directory.SettingDefaults {
		m[k] = v
	}
	var k, v string
	_, err = pgx.ForEachRow(rows, []any{&k, &v}, func() error {
		m[k] = v
		return nil
	})
	if err != nil {
		return nil, mapErr("settings", err)
	}
	return m, nil
}
