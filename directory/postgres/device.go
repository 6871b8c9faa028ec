package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/switchboard-pbx/switchboard/directory"
)

const deviceCols = `id, mac, vendor, model, user_id, label, token_hash, sealed, last_fetch_at, last_fetch_ip, created_at`

func scanDevice(row pgx.Row) (directory.Device, error) {
	var d directory.Device
	var last *time.Time
	var vendor string
	err := row.Scan(&d.ID, &d.MAC, &vendor, &d.Model, &d.UserID, &d.Label, &d.TokenHash, &d.Sealed,
		&last, &d.LastFetchIP, &d.CreatedAt)
	d.Vendor, d.LastFetchAt, d.CreatedAt = directory.Vendor(vendor), timeOf(last), d.CreatedAt.UTC()
	return d, err
}

func scanDeviceRow(r pgx.CollectableRow) (directory.Device, error) { return scanDevice(r) }

// CreateDevice stores d and sets its ID and creation time.
func (s *Store) CreateDevice(ctx context.Context, d *directory.Device) error {
	if err := d.Check(); err != nil {
		return fmt.Errorf("create device: %w", err)
	}
	err := s.pool.QueryRow(ctx, `INSERT INTO devices (mac, vendor, model, user_id, label, token_hash, sealed)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id, created_at`, d.MAC, string(d.Vendor), d.Model, d.UserID,
		d.Label, d.TokenHash, d.Sealed).Scan(&d.ID, &d.CreatedAt)
	if err != nil {
		return mapErr("create device", err)
	}
	d.CreatedAt = d.CreatedAt.UTC()
	return nil
}

// Device returns one device.
func (s *Store) Device(ctx context.Context, id int64) (*directory.Device, error) {
	d, err := scanDevice(s.pool.QueryRow(ctx, `SELECT `+deviceCols+` FROM devices WHERE id = $1`, id))
	if err != nil {
		return nil, mapErr(fmt.Sprintf("device %d", id), err)
	}
	return &d, nil
}

// DeviceByToken finds a device by the hash of its URL secret.
func (s *Store) DeviceByToken(ctx context.Context, tokenHash string) (*directory.Device, error) {
	d, err := scanDevice(s.pool.QueryRow(ctx, `SELECT `+deviceCols+` FROM devices WHERE token_hash = $1`, tokenHash))
	if err != nil {
		return nil, mapErr("device by token", err)
	}
	return &d, nil
}

// Devices lists the devices f selects, by MAC then ID.
func (s *Store) Devices(ctx context.Context, f directory.DeviceFilter) ([]directory.Device, error) {
	w := &where{}
	if !f.Vis.All {
		w.add("user_id = ANY(" + w.arg(ids(f.Vis.UserIDs)) + ")")
	}
	if f.UserID != 0 {
		w.add("user_id = " + w.arg(f.UserID))
	}
	limit, offset := f.Page.Limit()
	rows, err := s.pool.Query(ctx, `SELECT `+deviceCols+` FROM devices`+w.sql()+
		` ORDER BY mac, id LIMIT `+w.arg(limit)+` OFFSET `+w.arg(offset), w.args...)
	if err != nil {
		return nil, mapErr("devices", err)
	}
	ds, err := pgx.CollectRows(rows, scanDeviceRow)
	return nilIfEmpty(ds), mapErr("devices", err)
}

// UpdateDevice writes the fields of d a person may change, and its secret.
func (s *Store) UpdateDevice(ctx context.Context, d *directory.Device) error {
	if err := d.Check(); err != nil {
		return fmt.Errorf("update device %d: %w", d.ID, err)
	}
	tag, err := s.pool.Exec(ctx, `UPDATE devices SET mac = $1, vendor = $2, model = $3, user_id = $4, label = $5,
		token_hash = $6, sealed = $7 WHERE id = $8`, d.MAC, string(d.Vendor), d.Model, d.UserID, d.Label,
		d.TokenHash, d.Sealed, d.ID)
	if err == nil && tag.RowsAffected() == 0 {
		err = directory.ErrNotFound
	}
	return mapErr(fmt.Sprintf("update device %d", d.ID), err)
}

// DeleteDevice removes a device.
func (s *Store) DeleteDevice(ctx context.Context, id int64) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM devices WHERE id = $1`, id)
	if err == nil && tag.RowsAffected() == 0 {
		err = directory.ErrNotFound
	}
	return mapErr(fmt.Sprintf("delete device %d", id), err)
}

// DeviceFetched notes a configuration fetch.
func (s *Store) DeviceFetched(ctx context.Context, id int64, at time.Time, ip string) error {
	tag, err := s.pool.Exec(ctx, `UPDATE devices SET last_fetch_at = $1, last_fetch_ip = $2 WHERE id = $3`, at.UTC(), ip, id)
	if err == nil && tag.RowsAffected() == 0 {
		err = directory.ErrNotFound
	}
	return mapErr(fmt.Sprintf("device %d fetched", id), err)
}
