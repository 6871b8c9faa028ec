package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/switchboard-pbx/switchboard/directory"
)

const ivrCols = `m.id, m.number, m.name, m.greeting, m.digit_timeout, m.max_tries, m.options,
	m.timeout_action, m.timeout_target, m.invalid_action, m.invalid_target, m.created_at`

func scanIVRMenu(row pgx.Row) (directory.IVRMenu, error) {
	var m directory.IVRMenu
	var opts []byte
	if err := row.Scan(&m.ID, &m.Number, &m.Name, &m.Greeting, &m.DigitTimeout, &m.MaxTries, &opts,
		&m.TimeoutAction, &m.TimeoutTarget, &m.InvalidAction, &m.InvalidTarget, &m.CreatedAt); err != nil {
		return m, err
	}
	if err := json.Unmarshal(opts, &m.Options); err != nil {
		return m, fmt.Errorf("menu %d options: %w", m.ID, err)
	}
	m.CreatedAt = m.CreatedAt.UTC()
	return m, nil
}

func menuOptions(o []directory.IVROption) (string, error) {
	if o == nil {
		o = []directory.IVROption{}
	}
	b, err := json.Marshal(o)
	return string(b), err
}

// CreateIVRMenu stores m and sets its ID and creation time; its number is
// taken in extensions in the same transaction (extensions_pkey).
func (s *Store) CreateIVRMenu(ctx context.Context, m *directory.IVRMenu) error {
	if err := m.Validate(); err != nil {
		return fmt.Errorf("create menu: %w", err)
	}
	opts, err := menuOptions(m.Options)
	if err != nil {
		return fmt.Errorf("create menu: %w", err)
	}
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `INSERT INTO ivr_menus (number, name, greeting, digit_timeout, max_tries, options,
			timeout_action, timeout_target, invalid_action, invalid_target)
			VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, $9, $10) RETURNING id, created_at`, m.Number, m.Name,
			m.Greeting, m.DigitTimeout, m.MaxTries, opts, string(m.TimeoutAction), m.TimeoutTarget,
			string(m.InvalidAction), m.InvalidTarget).Scan(&m.ID, &m.CreatedAt); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO extensions (number, menu_id) VALUES ($1, $2)`, m.Number, m.ID)
		return err
	})
	if err != nil {
		return menuErr("create menu", err)
	}
	m.CreatedAt = m.CreatedAt.UTC()
	return nil
}

// menuErr maps a menu write's errors: the number taken by a user, a group
// or another menu is ErrExtensionTaken.
func menuErr(op string, err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" && pe.ConstraintName == "ivr_menus_number_key" {
		return fmt.Errorf("%s: %w", op, directory.ErrExtensionTaken)
	}
	return mapErr(op, err)
}

// IVRMenu returns one menu.
func (s *Store) IVRMenu(ctx context.Context, id int64) (*directory.IVRMenu, error) {
	m, err := scanIVRMenu(s.pool.QueryRow(ctx, `SELECT `+ivrCols+` FROM ivr_menus m WHERE m.id = $1`, id))
	if err != nil {
		return nil, mapErr(fmt.Sprintf("menu %d", id), err)
	}
	return &m, nil
}

// IVRMenuByNumber returns the menu of a number.
func (s *Store) IVRMenuByNumber(ctx context.Context, number string) (*directory.IVRMenu, error) {
	m, err := scanIVRMenu(s.pool.QueryRow(ctx, `SELECT `+ivrCols+` FROM ivr_menus m WHERE m.number = $1`, number))
	if err != nil {
		return nil, mapErr("menu "+number, err)
	}
	return &m, nil
}

// IVRMenus lists every menu by number.
func (s *Store) IVRMenus(ctx context.Context) ([]directory.IVRMenu, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+ivrCols+` FROM ivr_menus m ORDER BY m.number COLLATE "C"`)
	if err != nil {
		return nil, mapErr("menus", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (directory.IVRMenu, error) { return scanIVRMenu(r) })
	return nilIfEmpty(out), mapErr("menus", err)
}

// UpdateIVRMenu writes every field of m but its creation time.
func (s *Store) UpdateIVRMenu(ctx context.Context, m *directory.IVRMenu) error {
	if err := m.Validate(); err != nil {
		return fmt.Errorf("update menu %d: %w", m.ID, err)
	}
	opts, err := menuOptions(m.Options)
	if err != nil {
		return fmt.Errorf("update menu %d: %w", m.ID, err)
	}
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		var old string
		if err := tx.QueryRow(ctx, `SELECT number FROM ivr_menus WHERE id = $1 FOR UPDATE`, m.ID).Scan(&old); err != nil {
			return err
		}
		if old != m.Number {
			if _, err := tx.Exec(ctx, `DELETE FROM extensions WHERE menu_id = $1`, m.ID); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO extensions (number, menu_id) VALUES ($1, $2)`, m.Number, m.ID); err != nil {
				return err
			}
		}
		_, err := tx.Exec(ctx, `UPDATE ivr_menus SET number = $1, name = $2, greeting = $3, digit_timeout = $4,
			max_tries = $5, options = $6::jsonb, timeout_action = $7, timeout_target = $8, invalid_action = $9,
			invalid_target = $10 WHERE id = $11`, m.Number, m.Name, m.Greeting, m.DigitTimeout, m.MaxTries, opts,
			string(m.TimeoutAction), m.TimeoutTarget, string(m.InvalidAction), m.InvalidTarget, m.ID)
		return err
	})
	return menuErr(fmt.Sprintf("update menu %d", m.ID), err)
}

// DeleteIVRMenu deletes a menu; its number goes with it (ON DELETE
// CASCADE of extensions_menu_id_fkey).
func (s *Store) DeleteIVRMenu(ctx context.Context, id int64) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM ivr_menus WHERE id = $1`, id)
	if err == nil && tag.RowsAffected() == 0 {
		err = directory.ErrNotFound
	}
	return mapErr(fmt.Sprintf("delete menu %d", id), err)
}
