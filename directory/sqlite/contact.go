package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/switchboard-pbx/switchboard/directory"
)

// contactField is one column of contacts: what a write stores from a
// directory.Contact and where a read scans it.
type contactField struct {
	col  string
	val  func(c *directory.Contact) any
	dest func(r *contactRow) any // nil: written, never read back
}

// contactRow is a contact as scanned, with the columns that need converting.
type contactRow struct {
	c                                     directory.Contact
	assigned, createdBy, created, updated sql.NullInt64
}

// contactFields is the one list of the columns of contacts but its ID.
var contactFields = []contactField{
	{"name", func(c *directory.Contact) any { return c.Name }, func(r *contactRow) any { return &r.c.Name }},
	{"company", func(c *directory.Contact) any { return c.Company }, func(r *contactRow) any { return &r.c.Company }},
	{"email", func(c *directory.Contact) any { return c.Email }, func(r *contactRow) any { return &r.c.Email }},
	{"assigned_to", func(c *directory.Contact) any { return nullID(c.AssignedTo) }, func(r *contactRow) any { return &r.assigned }},
	{"created_by", func(c *directory.Contact) any { return nullID(c.CreatedBy) }, func(r *contactRow) any { return &r.createdBy }},
	{"public", func(c *directory.Contact) any { return c.Public }, func(r *contactRow) any { return &r.c.Public }},
	{"notes", func(c *directory.Contact) any { return c.Notes }, func(r *contactRow) any { return &r.c.Notes }},
	{"search", func(c *directory.Contact) any { return directory.ContactSearchText(c) }, nil},
	{"created_at", func(c *directory.Contact) any { return micros(c.CreatedAt) }, func(r *contactRow) any { return &r.created }},
	{"updated_at", func(c *directory.Contact) any { return micros(c.UpdatedAt) }, func(r *contactRow) any { return &r.updated }},
}

// contactCols are the columns scanContact reads, from contacts c; the
// phones come as a JSON array in the order they were given.
var contactCols, insertContactSQL, updateContactSQL = func() (string, string, string) {
	var read, cols, set []string
	for _, f := range contactFields {
		cols = append(cols, f.col)
		set = append(set, f.col+" = ?")
		if f.dest != nil {
			read = append(read, "c."+f.col)
		}
	}
	return "c.id, " + strings.Join(read, ", ") + `,
		(SELECT json_group_array(phone ORDER BY rowid) FROM contact_phones WHERE contact_id = c.id)`,
		"INSERT INTO contacts (" + strings.Join(cols, ", ") + ") VALUES (" +
			strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + ") RETURNING id",
		"UPDATE contacts SET " + strings.Join(set, ", ") + " WHERE id = ?"
}()

// contactValues are the values of contactFields for c.
func contactValues(c *directory.Contact) []any {
	vals := make([]any, len(contactFields))
	for i, f := range contactFields {
		vals[i] = f.val(c)
	}
	return vals
}

func scanContact(sc scanner) (*directory.Contact, error) {
	var r contactRow
	var phones string
	dest := append(make([]any, 0, len(contactFields)+2), &r.c.ID)
	for _, f := range contactFields {
		if f.dest != nil {
			dest = append(dest, f.dest(&r))
		}
	}
	if err := sc.Scan(append(dest, &phones)...); err != nil {
		return nil, err
	}
	c := &r.c
	c.AssignedTo, c.CreatedBy = r.assigned.Int64, r.createdBy.Int64
	c.CreatedAt, c.UpdatedAt = fromMicros(r.created), fromMicros(r.updated)
	if err := json.Unmarshal([]byte(phones), &c.Phones); err != nil {
		return nil, fmt.Errorf("phones of contact %d: %w", c.ID, err)
	}
	if len(c.Phones) == 0 {
		c.Phones = nil
	}
	return c, nil
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
		row := *c
		row.CreatedAt, row.UpdatedAt = t, t
		err := tx.QueryRowContext(ctx, insertContactSQL, contactValues(&row)...).Scan(&id)
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
	if q := directory.Fold(f.Search); q != "" {
		cond := `(instr(c.search, ?) > 0`
		args = append(args, q)
		if num := directory.NumberTerm(f.Search); num != "" {
			cond += ` OR c.id IN (SELECT contact_id FROM contact_phones WHERE instr(phone, ?) > 0)`
			args = append(args, num)
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

// Contacts lists the contacts f selects by name.
func (s *Store) Contacts(ctx context.Context, f directory.ContactFilter) ([]directory.Contact, error) {
	where, args := contactWhere(f)
	limit, offset := f.Page.Limit()
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+contactCols+` FROM contacts c WHERE `+where+`
		ORDER BY c.search, c.id LIMIT ? OFFSET ?`, append(args, limit, offset)...)
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
		row := *c
		row.CreatedBy, row.CreatedAt, row.UpdatedAt = createdBy.Int64, fromMicros(created), t
		if _, err := tx.ExecContext(ctx, updateContactSQL, append(contactValues(&row), c.ID)...); err != nil {
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
		ORDER BY c.search, c.id`, phone)
	if err != nil {
		return nil, fmt.Errorf("contacts by phone: %w", s.fail(err))
	}
	cs, err := scanContacts(rows)
	if err != nil {
		return nil, fmt.Errorf("contacts by phone: %w", s.fail(err))
	}
	return cs, nil
}
