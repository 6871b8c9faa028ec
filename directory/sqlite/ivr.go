package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
)

const ivrCols = `m.id, m.number, m.name, m.greeting, m.digit_timeout, m.max_tries, m.options,
	m.timeout_action, m.timeout_target, m.invalid_action, m.invalid_target, m.created_at`

func scanIVRMenu(sc scanner) (*directory.IVRMenu, error) {
	var m directory.IVRMenu
	var opts string
	var created int64
	if err := sc.Scan(&m.ID, &m.Number, &m.Name, &m.Greeting, &m.DigitTimeout, &m.MaxTries, &opts,
		&m.TimeoutAction, &m.TimeoutTarget, &m.InvalidAction, &m.InvalidTarget, &created); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(opts), &m.Options); err != nil {
		return nil, fmt.Errorf("menu %d options: %w", m.ID, err)
	}
	m.CreatedAt = time.UnixMicro(created).UTC()
	return &m, nil
}

// claimMenuNumber takes number in extensions for menu id.
func claimMenuNumber(ctx context.Context, tx *sql.Tx, number string, id int64) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO extensions (number, menu_id) VALUES (?, ?)`, number, id)
	if isUnique(err) {
		return directory.ErrExtensionTaken
	}
	return err
}

// CreateIVRMenu stores m and sets its ID and creation time.
func (s *Store) CreateIVRMenu(ctx context.Context, m *directory.IVRMenu) error {
	if err := m.Validate(); err != nil {
		return fmt.Errorf("create menu: %w", err)
	}
	opts, err := json.Marshal(optionsOrEmpty(m.Options))
	if err != nil {
		return fmt.Errorf("create menu: %w", err)
	}
	t := now()
	err = s.write(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO ivr_menus (number, name, greeting, digit_timeout, max_tries,
			options, timeout_action, timeout_target, invalid_action, invalid_target, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, m.Number, m.Name, m.Greeting, m.DigitTimeout,
			m.MaxTries, string(opts), m.TimeoutAction, m.TimeoutTarget, m.InvalidAction, m.InvalidTarget,
			t.UnixMicro()).Scan(&m.ID)
		if isUnique(err) {
			return directory.ErrExtensionTaken
		}
		if err != nil {
			return err
		}
		return claimMenuNumber(ctx, tx, m.Number, m.ID)
	})
	if err != nil {
		return fmt.Errorf("create menu: %w", err)
	}
	m.CreatedAt = t
	return nil
}

func optionsOrEmpty(o []directory.IVROption) []directory.IVROption {
	if o == nil {
		return []directory.IVROption{}
	}
	return o
}

// IVRMenu returns one menu.
func (s *Store) IVRMenu(ctx context.Context, id int64) (*directory.IVRMenu, error) {
	m, err := scanIVRMenu(s.rdb.QueryRowContext(ctx, `SELECT `+ivrCols+` FROM ivr_menus m WHERE m.id = ?`, id))
	if err != nil {
		return nil, fmt.Errorf("menu %d: %w", id, s.fail(err))
	}
	return m, nil
}

// IVRMenuByNumber returns the menu of a number.
func (s *Store) IVRMenuByNumber(ctx context.Context, number string) (*directory.IVRMenu, error) {
	m, err := scanIVRMenu(s.rdb.QueryRowContext(ctx, `SELECT `+ivrCols+` FROM ivr_menus m WHERE m.number = ?`, number))
	if err != nil {
		return nil, fmt.Errorf("menu %s: %w", number, s.fail(err))
	}
	return m, nil
}

// IVRMenus lists every menu by number.
func (s *Store) IVRMenus(ctx context.Context) ([]directory.IVRMenu, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+ivrCols+` FROM ivr_menus m ORDER BY m.number`)
	if err != nil {
		return nil, fmt.Errorf("menus: %w", s.fail(err))
	}
	defer rows.Close()
	var out []directory.IVRMenu
	for rows.Next() {
		m, err := scanIVRMenu(rows)
		if err != nil {
			return nil, fmt.Errorf("menus: %w", s.fail(err))
		}
		out = append(out, *m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("menus: %w", s.fail(err))
	}
	return out, nil
}

// UpdateIVRMenu writes every field of m but its creation time.
func (s *Store) UpdateIVRMenu(ctx context.Context, m *directory.IVRMenu) error {
	if err := m.Validate(); err != nil {
		return fmt.Errorf("update menu %d: %w", m.ID, err)
	}
	opts, err := json.Marshal(optionsOrEmpty(m.Options))
	if err != nil {
		return fmt.Errorf("update menu %d: %w", m.ID, err)
	}
	err = s.write(ctx, func(tx *sql.Tx) error {
		var old string
		if err := tx.QueryRowContext(ctx, `SELECT number FROM ivr_menus WHERE id = ?`, m.ID).Scan(&old); err != nil {
			return err
		}
		if old != m.Number {
			if _, err := tx.ExecContext(ctx, `DELETE FROM extensions WHERE menu_id = ?`, m.ID); err != nil {
				return err
			}
			if err := claimMenuNumber(ctx, tx, m.Number, m.ID); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `UPDATE ivr_menus SET number = ?, name = ?, greeting = ?, digit_timeout = ?,
			max_tries = ?, options = ?, timeout_action = ?, timeout_target = ?, invalid_action = ?, invalid_target = ?
			WHERE id = ?`, m.Number, m.Name, m.Greeting, m.DigitTimeout, m.MaxTries, string(opts), m.TimeoutAction,
			m.TimeoutTarget, m.InvalidAction, m.InvalidTarget, m.ID)
		return err
	})
	if err != nil {
		return fmt.Errorf("update menu %d: %w", m.ID, err)
	}
	return nil
}

// DeleteIVRMenu deletes a menu and frees its number.
func (s *Store) DeleteIVRMenu(ctx context.Context, id int64) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM extensions WHERE menu_id = ?`, id); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM ivr_menus WHERE id = ?`, id)
		return oneRow(res, err)
	})
	if err != nil {
		return fmt.Errorf("delete menu %d: %w", id, err)
	}
	return nil
}
