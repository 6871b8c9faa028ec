package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"

	"github.com/switchboard-pbx/switchboard/directory"
)

// Setting returns the value of key, or its default.
func (s *Store) Setting(ctx context.Context, key string) (string, error) {
	var v string
	err := s.rdb.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return directory.SettingDefaults[key], nil
	}
	if err != nil {
		return "", fmt.Errorf("setting %s: %w", key, s.fail(err))
	}
	return v, nil
}

// SetSetting validates and writes a value; the default role must exist.
func (s *Store) SetSetting(ctx context.Context, key, value string) error {
	if err := directory.ValidateSetting(key, value); err != nil {
		return fmt.Errorf("set setting %s: %w", key, err)
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		if key == directory.SettingDefaultRole {
			id, _ := strconv.ParseInt(value, 10, 64)
			if _, err := getRole(ctx, tx, id); err != nil {
				if errors.Is(err, directory.ErrNotFound) {
					return &directory.InvalidError{Field: key, Rule: "must be a role ID"}
				}
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES (?, ?)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
		if err != nil {
			return err
		}
		return logChange(ctx, tx, directory.ChangeSetting, 0, key, "")
	})
	if err != nil {
		return fmt.Errorf("set setting %s: %w", key, err)
	}
	return nil
}

// Settings returns every key that has a value or a default.
func (s *Store) Settings(ctx context.Context) (map[string]string, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT key, value FROM settings`)
	if err != nil {
		return nil, fmt.Errorf("settings: %w", s.fail(err))
	}
	stored, err := scanPerms(rows)
	if err != nil {
		return nil, fmt.Errorf("settings: %w", s.fail(err))
	}
	out := make(map[string]string, len(stored)+len(directory.SettingDefaults))
	for k, v := range directory.SettingDefaults {
		out[k] = v
	}
	for k, v := range stored {
		out[k] = v
	}
	return out, nil
}
