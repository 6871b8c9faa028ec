package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
)

const deviceCols = `id, mac, vendor, model, user_id, label, token_hash, sealed, last_fetch_at, last_fetch_ip, created_at`

func scanDevice(sc scanner) (*directory.Device, error) {
	var d directory.Device
	var last sql.NullInt64
	var created int64
	if err := sc.Scan(&d.ID, &d.MAC, &d.Vendor, &d.Model, &d.UserID, &d.Label, &d.TokenHash, &d.Sealed,
		&last, &d.LastFetchIP, &created); err != nil {
		return nil, err
	}
	d.LastFetchAt, d.CreatedAt = fromMicros(last), time.UnixMicro(created).UTC()
	return &d, nil
}

// deviceErr maps the constraint a device write can run into.
func deviceErr(err error) error {
	switch {
	case isUnique(err):
		return directory.ErrMACTaken
	case isForeignKey(err):
		return directory.ErrUnknownDeviceUser
	}
	return err
}

// CreateDevice stores d and sets its ID and creation time.
func (s *Store) CreateDevice(ctx context.Context, d *directory.Device) error {
	if err := d.Check(); err != nil {
		return fmt.Errorf("create device: %w", err)
	}
	t := now()
	err := s.write(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO devices (mac, vendor, model, user_id, label, token_hash, sealed,
			created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, d.MAC, string(d.Vendor), d.Model, d.UserID,
			d.Label, d.TokenHash, d.Sealed, t.UnixMicro()).Scan(&d.ID)
		return deviceErr(err)
	})
	if err != nil {
		return fmt.Errorf("create device: %w", err)
	}
	d.CreatedAt = t
	return nil
}

// Device returns one device.
func (s *Store) Device(ctx context.Context, id int64) (*directory.Device, error) {
	d, err := scanDevice(s.rdb.QueryRowContext(ctx, `SELECT `+deviceCols+` FROM devices WHERE id = ?`, id))
	if err != nil {
		return nil, fmt.Errorf("device %d: %w", id, s.fail(err))
	}
	return d, nil
}

// DeviceByToken finds a device by the hash of its URL secret.
func (s *Store) DeviceByToken(ctx context.Context, tokenHash string) (*directory.Device, error) {
	d, err := scanDevice(s.rdb.QueryRowContext(ctx, `SELECT `+deviceCols+` FROM devices WHERE token_hash = ?`, tokenHash))
	if err != nil {
		return nil, fmt.Errorf("device by token: %w", s.fail(err))
	}
	return d, nil
}

// Devices lists the devices f selects, by MAC then ID.
func (s *Store) Devices(ctx context.Context, f directory.DeviceFilter) ([]directory.Device, error) {
	cond, args := "1", []any(nil)
	if !f.Vis.All {
		cond, args = inIDs("user_id", f.Vis.UserIDs)
	}
	if f.UserID != 0 {
		cond += " AND user_id = ?"
		args = append(args, f.UserID)
	}
	limit, offset := f.Page.Limit()
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+deviceCols+` FROM devices WHERE `+cond+`
		ORDER BY mac, id LIMIT ? OFFSET ?`, append(args, limit, offset)...)
	if err != nil {
		return nil, fmt.Errorf("devices: %w", s.fail(err))
	}
	defer rows.Close()
	var ds []directory.Device
	for rows.Next() {
		d, err := scanDevice(rows)
		if err != nil {
			return nil, fmt.Errorf("devices: %w", s.fail(err))
		}
		ds = append(ds, *d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("devices: %w", s.fail(err))
	}
	return ds, nil
}

// UpdateDevice writes the fields of d a person may change, and its secret.
func (s *Store) UpdateDevice(ctx context.Context, d *directory.Device) error {
	if err := d.Check(); err != nil {
		return fmt.Errorf("update device %d: %w", d.ID, err)
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE devices SET mac = ?, vendor = ?, model = ?, user_id = ?, label = ?,
			token_hash = ?, sealed = ? WHERE id = ?`, d.MAC, string(d.Vendor), d.Model, d.UserID, d.Label,
			d.TokenHash, d.Sealed, d.ID)
		return oneRow(res, deviceErr(err))
	})
	if err != nil {
		return fmt.Errorf("update device %d: %w", d.ID, err)
	}
	return nil
}

// DeleteDevice removes a device.
func (s *Store) DeleteDevice(ctx context.Context, id int64) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		return oneRow(tx.ExecContext(ctx, `DELETE FROM devices WHERE id = ?`, id))
	})
	if err != nil {
		return fmt.Errorf("delete device %d: %w", id, err)
	}
	return nil
}

// DeviceFetched notes a configuration fetch.
func (s *Store) DeviceFetched(ctx context.Context, id int64, at time.Time, ip string) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		return oneRow(tx.ExecContext(ctx, `UPDATE devices SET last_fetch_at = ?, last_fetch_ip = ? WHERE id = ?`,
			at.UTC().UnixMicro(), ip, id))
	})
	if err != nil {
		return fmt.Errorf("device %d fetched: %w", id, err)
	}
	return nil
}
