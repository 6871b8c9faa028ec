package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/switchboard-pbx/switchboard/directory"
)

const scheduleCols = `s.id, s.name, s.group_id, s.time_zone, s.hours, s.holidays, s.closed, s.created_at`

// scheduleConstraints are the constraints of migration 00015, by name.
var scheduleConstraints = map[string]error{
	"schedules_name_key":         directory.ErrScheduleName,
	"schedules_one_per_group":    directory.ErrGroupHasHours,
	"schedules_group_id_fkey":    directory.ErrUnknownDept,
	"did_hours_schedule_id_fkey": directory.ErrUnknownSchedule,
}

// scheduleErr maps the constraints of schedules by name (the rest as
// mapErr does); inUse is the meaning of the did_hours key when a schedule
// is deleted rather than referenced.
func scheduleErr(op string, err error, inUse bool) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && (pe.Code == "23505" || pe.Code == "23503") {
		if inUse && pe.ConstraintName == "did_hours_schedule_id_fkey" {
			return fmt.Errorf("%s: %w", op, directory.ErrScheduleInUse)
		}
		if known := scheduleConstraints[pe.ConstraintName]; known != nil {
			return fmt.Errorf("%s: %w", op, known)
		}
	}
	return mapErr(op, err)
}

func scanSchedule(row pgx.Row, pre ...any) (directory.Schedule, error) {
	var sch directory.Schedule
	var group *int64
	err := row.Scan(append(pre, &sch.ID, &sch.Name, &group, &sch.TimeZone, &sch.Hours, &sch.Holidays, &sch.Closed,
		&sch.CreatedAt)...)
	if group != nil {
		sch.GroupID = *group
	}
	sch.CreatedAt = sch.CreatedAt.UTC()
	return sch, err
}

// CreateSchedule stores sch and sets its ID and creation time.
func (s *Store) CreateSchedule(ctx context.Context, sch *directory.Schedule) error {
	if err := sch.Validate(); err != nil {
		return fmt.Errorf("create schedule: %w", err)
	}
	err := s.pool.QueryRow(ctx, `INSERT INTO schedules (name, group_id, time_zone, hours, holidays, closed)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING id, created_at`, sch.Name, nullID(sch.GroupID), sch.TimeZone,
		sch.Hours, sch.Holidays, sch.Closed).Scan(&sch.ID, &sch.CreatedAt)
	if err != nil {
		return scheduleErr("create schedule", err, false)
	}
	sch.CreatedAt = sch.CreatedAt.UTC()
	return nil
}

// Schedule returns one schedule.
func (s *Store) Schedule(ctx context.Context, id int64) (*directory.Schedule, error) {
	sch, err := scanSchedule(s.pool.QueryRow(ctx, `SELECT `+scheduleCols+` FROM schedules s WHERE s.id = $1`, id))
	if err != nil {
		return nil, mapErr(fmt.Sprintf("schedule %d", id), err)
	}
	return &sch, nil
}

// Schedules lists every schedule by name.
func (s *Store) Schedules(ctx context.Context) ([]directory.Schedule, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+scheduleCols+` FROM schedules s ORDER BY s.name COLLATE "C", s.id`)
	if err != nil {
		return nil, mapErr("schedules", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (directory.Schedule, error) { return scanSchedule(r) })
	return nilIfEmpty(out), mapErr("schedules", err)
}

// UpdateSchedule writes every field of sch but its creation time.
func (s *Store) UpdateSchedule(ctx context.Context, sch *directory.Schedule) error {
	if err := sch.Validate(); err != nil {
		return fmt.Errorf("update schedule %d: %w", sch.ID, err)
	}
	tag, err := s.pool.Exec(ctx, `UPDATE schedules SET name = $1, group_id = $2, time_zone = $3, hours = $4,
		holidays = $5, closed = $6 WHERE id = $7`, sch.Name, nullID(sch.GroupID), sch.TimeZone, sch.Hours,
		sch.Holidays, sch.Closed, sch.ID)
	if err == nil && tag.RowsAffected() == 0 {
		err = directory.ErrNotFound
	}
	return scheduleErr(fmt.Sprintf("update schedule %d", sch.ID), err, false)
}

// DeleteSchedule deletes a schedule no number uses; the foreign key of
// did_hours refuses it otherwise, whichever node wrote last.
func (s *Store) DeleteSchedule(ctx context.Context, id int64) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM schedules WHERE id = $1`, id)
	if err == nil && tag.RowsAffected() == 0 {
		err = directory.ErrNotFound
	}
	return scheduleErr(fmt.Sprintf("delete schedule %d", id), err, true)
}

// SetDIDHours makes a number follow a schedule.
func (s *Store) SetDIDHours(ctx context.Context, d *directory.DIDHours) error {
	if err := d.Validate(); err != nil {
		return fmt.Errorf("did hours: %w", err)
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO did_hours (number, schedule_id, outside) VALUES ($1, $2, $3)
		ON CONFLICT (number) DO UPDATE SET schedule_id = excluded.schedule_id, outside = excluded.outside`,
		d.Number, d.ScheduleID, d.Outside)
	return scheduleErr("did hours "+d.Number, err, false)
}

const didHoursQuery = `SELECT d.number, d.schedule_id, d.outside, ` + scheduleCols + `
	FROM did_hours d JOIN schedules s ON s.id = d.schedule_id`

func scanDIDHours(row pgx.Row) (directory.DIDHours, error) {
	var d directory.DIDHours
	sch, err := scanSchedule(row, &d.Number, &d.ScheduleID, &d.Outside)
	d.Schedule = sch
	return d, err
}

// DIDHours returns the hours of one number.
func (s *Store) DIDHours(ctx context.Context, number string) (*directory.DIDHours, error) {
	d, err := scanDIDHours(s.pool.QueryRow(ctx, didHoursQuery+` WHERE d.number = $1`, number))
	if err != nil {
		return nil, mapErr("did hours "+number, err)
	}
	return &d, nil
}

// DIDHoursList lists every number with hours.
func (s *Store) DIDHoursList(ctx context.Context) ([]directory.DIDHours, error) {
	rows, err := s.pool.Query(ctx, didHoursQuery+` ORDER BY d.number COLLATE "C"`)
	if err != nil {
		return nil, mapErr("did hours", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (directory.DIDHours, error) { return scanDIDHours(r) })
	return nilIfEmpty(out), mapErr("did hours", err)
}

// DeleteDIDHours makes a number ring its target at all hours again.
func (s *Store) DeleteDIDHours(ctx context.Context, number string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM did_hours WHERE number = $1`, number)
	if err == nil && tag.RowsAffected() == 0 {
		err = directory.ErrNotFound
	}
	return mapErr("delete did hours "+number, err)
}
