package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
)

const scheduleCols = `s.id, s.name, s.group_id, s.time_zone, s.hours, s.holidays, s.closed, s.created_at`

func scanSchedule(sc scanner, extra ...any) (*directory.Schedule, error) {
	var sch directory.Schedule
	var group sql.NullInt64
	var created int64
	if err := sc.Scan(append([]any{&sch.ID, &sch.Name, &group, &sch.TimeZone, &sch.Hours, &sch.Holidays,
		&sch.Closed, &created}, extra...)...); err != nil {
		return nil, err
	}
	sch.GroupID, sch.CreatedAt = group.Int64, time.UnixMicro(created).UTC()
	return &sch, nil
}

// scheduleErr maps the constraints a schedule write can run into.
func scheduleErr(err error) error {
	switch {
	case isUnique(err): // the department's was checked first (groupTaken)
		return directory.ErrScheduleName
	case isForeignKey(err):
		return directory.ErrUnknownDept
	}
	return err
}

// groupTaken refuses a second schedule for one department; SQLite has one
// writer, so the check holds until the transaction ends.
func groupTaken(ctx context.Context, tx *sql.Tx, sch *directory.Schedule) error {
	if sch.GroupID == 0 {
		return nil
	}
	var taken bool
	err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM schedules WHERE group_id = ? AND id <> ?)`,
		sch.GroupID, sch.ID).Scan(&taken)
	if err == nil && taken {
		err = directory.ErrGroupHasHours
	}
	return err
}

// CreateSchedule stores sch and sets its ID and creation time.
func (s *Store) CreateSchedule(ctx context.Context, sch *directory.Schedule) error {
	if err := sch.Validate(); err != nil {
		return fmt.Errorf("create schedule: %w", err)
	}
	t := now()
	err := s.write(ctx, func(tx *sql.Tx) error {
		if err := groupTaken(ctx, tx, sch); err != nil {
			return err
		}
		return scheduleErr(tx.QueryRowContext(ctx, `INSERT INTO schedules (name, group_id, time_zone, hours, holidays,
			closed, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`, sch.Name, nullID(sch.GroupID), sch.TimeZone,
			sch.Hours, sch.Holidays, sch.Closed, t.UnixMicro()).Scan(&sch.ID))
	})
	if err != nil {
		return fmt.Errorf("create schedule: %w", err)
	}
	sch.CreatedAt = t
	return nil
}

// Schedule returns one schedule.
func (s *Store) Schedule(ctx context.Context, id int64) (*directory.Schedule, error) {
	sch, err := scanSchedule(s.rdb.QueryRowContext(ctx, `SELECT `+scheduleCols+` FROM schedules s WHERE s.id = ?`, id))
	if err != nil {
		return nil, fmt.Errorf("schedule %d: %w", id, s.fail(err))
	}
	return sch, nil
}

// Schedules lists every schedule by name.
func (s *Store) Schedules(ctx context.Context) ([]directory.Schedule, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+scheduleCols+` FROM schedules s ORDER BY s.name, s.id`)
	if err != nil {
		return nil, fmt.Errorf("schedules: %w", s.fail(err))
	}
	defer rows.Close()
	var out []directory.Schedule
	for rows.Next() {
		sch, err := scanSchedule(rows)
		if err != nil {
			return nil, fmt.Errorf("schedules: %w", s.fail(err))
		}
		out = append(out, *sch)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("schedules: %w", s.fail(err))
	}
	return out, nil
}

// UpdateSchedule writes every field of sch but its creation time.
func (s *Store) UpdateSchedule(ctx context.Context, sch *directory.Schedule) error {
	if err := sch.Validate(); err != nil {
		return fmt.Errorf("update schedule %d: %w", sch.ID, err)
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		if err := groupTaken(ctx, tx, sch); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE schedules SET name = ?, group_id = ?, time_zone = ?, hours = ?,
			holidays = ?, closed = ? WHERE id = ?`, sch.Name, nullID(sch.GroupID), sch.TimeZone, sch.Hours,
			sch.Holidays, sch.Closed, sch.ID)
		return oneRow(res, scheduleErr(err))
	})
	if err != nil {
		return fmt.Errorf("update schedule %d: %w", sch.ID, err)
	}
	return nil
}

// DeleteSchedule deletes a schedule no number uses.
func (s *Store) DeleteSchedule(ctx context.Context, id int64) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		var used bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM did_hours WHERE schedule_id = ?)`,
			id).Scan(&used); err != nil {
			return err
		}
		if used {
			return directory.ErrScheduleInUse
		}
		return oneRow(tx.ExecContext(ctx, `DELETE FROM schedules WHERE id = ?`, id))
	})
	if err != nil {
		return fmt.Errorf("delete schedule %d: %w", id, err)
	}
	return nil
}

// SetDIDHours makes a number follow a schedule.
func (s *Store) SetDIDHours(ctx context.Context, d *directory.DIDHours) error {
	if err := d.Validate(); err != nil {
		return fmt.Errorf("did hours: %w", err)
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO did_hours (number, schedule_id, outside) VALUES (?, ?, ?)
			ON CONFLICT (number) DO UPDATE SET schedule_id = excluded.schedule_id, outside = excluded.outside`,
			d.Number, d.ScheduleID, d.Outside)
		if isForeignKey(err) {
			return directory.ErrUnknownSchedule
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("did hours %s: %w", d.Number, err)
	}
	return nil
}

const didHoursQuery = `SELECT d.number, d.schedule_id, d.outside, ` + scheduleCols + `
	FROM did_hours d JOIN schedules s ON s.id = d.schedule_id`

func scanDIDHours(sc scanner) (*directory.DIDHours, error) {
	var d directory.DIDHours
	sch, err := scanSchedule(prefixScanner{sc, []any{&d.Number, &d.ScheduleID, &d.Outside}})
	if err != nil {
		return nil, err
	}
	d.Schedule = *sch
	return &d, nil
}

// prefixScanner scans the leading columns into pre and hands the rest on.
type prefixScanner struct {
	sc  scanner
	pre []any
}

func (p prefixScanner) Scan(dest ...any) error { return p.sc.Scan(append(p.pre, dest...)...) }

// DIDHours returns the hours of one number.
func (s *Store) DIDHours(ctx context.Context, number string) (*directory.DIDHours, error) {
	d, err := scanDIDHours(s.rdb.QueryRowContext(ctx, didHoursQuery+` WHERE d.number = ?`, number))
	if err != nil {
		return nil, fmt.Errorf("did hours %s: %w", number, s.fail(err))
	}
	return d, nil
}

// DIDHoursList lists every number with hours.
func (s *Store) DIDHoursList(ctx context.Context) ([]directory.DIDHours, error) {
	rows, err := s.rdb.QueryContext(ctx, didHoursQuery+` ORDER BY d.number`)
	if err != nil {
		return nil, fmt.Errorf("did hours: %w", s.fail(err))
	}
	defer rows.Close()
	var out []directory.DIDHours
	for rows.Next() {
		d, err := scanDIDHours(rows)
		if err != nil {
			return nil, fmt.Errorf("did hours: %w", s.fail(err))
		}
		out = append(out, *d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("did hours: %w", s.fail(err))
	}
	return out, nil
}

// DeleteDIDHours makes a number ring its target at all hours again.
func (s *Store) DeleteDIDHours(ctx context.Context, number string) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		return oneRow(tx.ExecContext(ctx, `DELETE FROM did_hours WHERE number = ?`, number))
	})
	if err != nil {
		return fmt.Errorf("delete did hours %s: %w", number, err)
	}
	return nil
}
