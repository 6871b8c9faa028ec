package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/switchboard-pbx/switchboard/directory"
)

// contactCols are the columns scanContact reads; the phones come as a JSON
// array in the order they were given.
const contactCols = `c.id, c.name, c.company, c.email, c.assigned_to, c.created_by, c.public, c.notes,
	c.created_at, c.updated_at,
	(SELECT json_group_array(phone ORDER BY rowid) FROM contact_phones WHERE contact_id = c.id)`

func scanContact(sc scanner) (*directory.Contact, error) {
	var c directory.Contact
	var assigned, createdBy, created, updated sql.NullInt64
	var phones string
	err := sc.Scan(&c.ID, &c.Name, &c.Company, &c.Email, &assigned, &createdBy, &c.Public, &c.Notes,
		&created, &updated, &phones)
	if err != nil {
		return nil, err
	}
	c.AssignedTo, c.CreatedBy = assigned.Int64, createdBy.Int64
	c.CreatedAt, c.UpdatedAt = fromMicros(created), fromMicros(updated)
	if err := json.Unmarshal([]byte(phones), &c.Phones); err != nil {
		return nil, fmt.Errorf("phones of contact %d: %w", c.ID, err)
	}
	if len(c.Phones) == 0 {
		c.Phones = nil
	}
	return &c, nil
}

func scanContacts(rows *sql.Rows) ([]directory.Contact, error) {
	defer rows.Close()
	var cs []directory.Contact
	for rows.Next() {
		c, err := scanContact(rows)
		if err != nil {
			return nil, err
		}
		cs = append(cs, *c)
	}
	return cs, rows.Err()
}

// CreateContact stores c with its phones and sets c.ID and the times.
func (s *Store) CreateContact(ctx context.Context, c *directory.Contact) error {
	t := now()
	var id int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		if err := checkUserRefs(ctx, tx, c); err != nil {
			return err
		}
		err := tx.QueryRowContext(ctx, `INSERT INTO contacts (name, company, email, assigned_to, created_by, public,
				notes, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			c.Name, c.Company, c.Email, nullID(c.AssignedTo), nullID(c.CreatedBy), c.Public, c.Notes,
			t.UnixMicro(), t.UnixMicro()).Scan(&id)
		if err != nil {
			return err
		}
		return insertPhones(ctx, tx, id, c.Phones)
	})
	if err != nil {
		return fmt.Errorf("create contact: %w", err)
	}
	c.ID, c.CreatedAt, c.UpdatedAt = id, t, t
	return nil
}

// checkUserRefs refuses an assignee or creator that is no user.
func checkUserRefs(ctx context.Context, tx *sql.Tx, c *directory.Contact) error {
	for _, ref := range []struct {
		field string
		id    int64
	}{{"assigned_to", c.AssignedTo}, {"created_by", c.CreatedBy}} {
		if ref.id == 0 {
			continue
		}
		var ok bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM users WHERE id = ?)`, ref.id).Scan(&ok); err != nil {
			return err
		}
		if !ok {
			return &directory.InvalidError{Field: ref.field, Rule: "unknown user"}
		}
	}
	return nil
}

func insertPhones(ctx context.Context, tx *sql.Tx, id int64, phones []string) error {
	for _, p := range phones {
		if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO contact_phones (contact_id, phone) VALUES (?, ?)`,
			id, p); err != nil {
			return err
		}
	}
	return nil
}

// Contact returns a contact with its phones.
func (s *Store) Contact(ctx context.Context, id int64) (*directory.Contact, error) {
	c, err := scanContact(s.rdb.QueryRowContext(ctx, `SELECT `+contactCols+` FROM contacts c WHERE c.id = ?`, id))
	if err != nil {
		return nil, fmt.Errorf("contact %d: %w", id, s.fail(err))
	}
	return c, nil
}

// contactWhere turns f into a WHERE clause over contacts c.
func contactWhere(f directory.ContactFilter) (string, []any) {
	var where []string
	var args []any
	if q := strings.TrimSpace(f.Search); q != "" {
		cond := `(c.name LIKE ? ESCAPE '\' OR c.company LIKE ? ESCAPE '\'`
		like := likeArg(q)
		args = append(args, like, like)
		if num := phoneSearch(q); num != "" {
			cond += ` OR c.id IN (SELECT contact_id FROM contact_phones WHERE phone LIKE ? ESCAPE '\')`
			args = append(args, likeArg(num))
		}
		where = append(where, cond+")")
	}
	if f.Phone != "" {
		where = append(where, `c.id IN (SELECT contact_id FROM contact_phones WHERE phone = ?)`)
		args = append(args, f.Phone)
	}
	if !f.Vis.All {
		var vis []string
		if len(f.Vis.UserIDs) > 0 {
			a, aargs := inIDs("c.assigned_to", f.Vis.UserIDs)
			b, bargs := inIDs("c.created_by", f.Vis.UserIDs)
			vis = append(vis, a, b)
			args = append(append(args, aargs...), bargs...)
		}
		if f.Vis.Unassigned {
			vis = append(vis, "c.assigned_to IS NULL")
		}
		if f.Vis.Public {
			vis = append(vis, "c.public = 1")
		}
		if len(vis) == 0 {
			vis = []string{"0"}
		}
		where = append(where, "("+strings.Join(vis, " OR ")+")")
	}
	if len(where) == 0 {
		return "1", nil
	}
	return strings.Join(where, " AND "), args
}

// phoneSearch returns q without the separators people type in numbers
// ("+48 22-123"), or "" when q is not a number.
func phoneSearch(q string) string {
	var b strings.Builder
	digits := 0
	for i, r := range q {
		switch {
		case r >= '0' && r <= '9':
			digits++
			b.WriteRune(r)
		case r == '+' && i == 0:
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '(' || r == ')' || r == '.' || r == '/':
		default:
			return ""
		}
	}
	if digits == 0 {
		return ""
	}
	return b.String()
}

// Contacts lists the contacts f selects by name.
func (s *Store) Contacts(ctx context.Context, f directory.ContactFilter) ([]directory.Contact, error) {
	where, args := contactWhere(f)
	limit, offset := f.Page.Limit()
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+contactCols+` FROM contacts c WHERE `+where+`
		ORDER BY c.name, c.id LIMIT ? OFFSET ?`, append(args, limit, offset)...)
	if err != nil {
		return nil, fmt.Errorf("contacts: %w", s.fail(err))
	}
	cs, err := scanContacts(rows)
	if err != nil {
		return nil, fmt.Errorf("contacts: %w", s.fail(err))
	}
	return cs, nil
}

// UpdateContact changes every field of c but its creator and creation time,
// which it fills in, and replaces its phones.
func (s *Store) UpdateContact(ctx context.Context, c *directory.Contact) error {
	t := now()
	var createdBy, created sql.NullInt64
	err := s.write(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT created_by, created_at FROM contacts WHERE id = ?`, c.ID).Scan(&createdBy, &created)
		if err != nil {
			return err
		}
		check := *c
		check.CreatedBy = 0
		if err := checkUserRefs(ctx, tx, &check); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE contacts SET name = ?, company = ?, email = ?, assigned_to = ?, public = ?,
				notes = ?, updated_at = ?
			WHERE id = ?`, c.Name, c.Company, c.Email, nullID(c.AssignedTo), c.Public, c.Notes, t.UnixMicro(), c.ID)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM contact_phones WHERE contact_id = ?`, c.ID); err != nil {
			return err
		}
		return insertPhones(ctx, tx, c.ID, c.Phones)
	})
	if err != nil {
		return fmt.Errorf("update contact %d: %w", c.ID, err)
	}
	c.CreatedBy, c.CreatedAt, c.UpdatedAt = createdBy.Int64, fromMicros(created), t
	return nil
}

// DeleteContact deletes a contact and its phones.
func (s *Store) DeleteContact(ctx context.Context, id int64) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		return oneRow(tx.ExecContext(ctx, `DELETE FROM contacts WHERE id = ?`, id))
	})
	if err != nil {
		return fmt.Errorf("delete contact %d: %w", id, err)
	}
	return nil
}

// ContactsByPhone returns every contact with the E.164 number, by name.
func (s *Store) ContactsByPhone(ctx context.Context, phone string) ([]directory.Contact, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+contactCols+` FROM contacts c
		WHERE c.id IN (SELECT contact_id FROM contact_phones WHERE phone = ?)
		ORDER BY c.name, c.id`, phone)
	if err != nil {
		return nil, fmt.Errorf("contacts by phone: %w", s.fail(err))
	}
	cs, err := scanContacts(rows)
	if err != nil {
		return nil, fmt.Errorf("contacts by phone: %w", s.fail(err))
	}
	return cs, nil
}
