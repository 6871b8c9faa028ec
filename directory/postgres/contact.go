package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/switchboard-pbx/switchboard/directory"
)

// contactField is one column of contacts: what a write stores from a
// directory.Contact and where a read scans it.
type contactField struct {
	col  string
	val  func(c *directory.Contact) any
	dest func(c *directory.Contact) any // nil: written, never read back
}

// contactFields is the one list of the columns of contacts but its ID and
// times (which the database sets) and its creator (set once, by
// CreateContact).
var contactFields = []contactField{
	{"name", func(c *directory.Contact) any { return c.Name }, func(c *directory.Contact) any { return &c.Name }},
	{"company", func(c *directory.Contact) any { return c.Company }, func(c *directory.Contact) any { return &c.Company }},
	{"email", func(c *directory.Contact) any { return c.Email }, func(c *directory.Contact) any { return &c.Email }},
	{"assigned_to", func(c *directory.Contact) any { return nullID(c.AssignedTo) },
		func(c *directory.Contact) any { return zeroNull{&c.AssignedTo} }},
	{"public", func(c *directory.Contact) any { return c.Public }, func(c *directory.Contact) any { return &c.Public }},
	{"notes", func(c *directory.Contact) any { return c.Notes }, func(c *directory.Contact) any { return &c.Notes }},
	{"search", func(c *directory.Contact) any { return directory.ContactSearchText(c) }, nil},
}

// contactColumns are read by scanContact, from contacts aliased c; the
// other two are the SQL of inserting a contact (arguments contactValues,
// then the creator) and of updating one ($1 the ID, then contactValues),
// both returning the times.
var contactColumns, insertContactSQL, updateContactSQL = func() (string, string, string) {
	var read, cols, vals, set []string
	for i, f := range contactFields {
		cols = append(cols, f.col)
		vals = append(vals, "$"+strconv.Itoa(i+1))
		set = append(set, f.col+" = $"+strconv.Itoa(i+2))
		if f.dest != nil {
			read = append(read, "c."+f.col)
		}
	}
	return "c.id, " + strings.Join(read, ", ") + `, coalesce(c.created_by, 0), c.created_at, c.updated_at,
	ARRAY(SELECT phone FROM contact_phones WHERE contact_id = c.id ORDER BY pos, phone)`,
		"INSERT INTO contacts (" + strings.Join(cols, ", ") + ", created_by) VALUES (" + strings.Join(vals, ", ") +
			", $" + strconv.Itoa(len(cols)+1) + ") RETURNING id, coalesce(created_by, 0), created_at, updated_at",
		"UPDATE contacts SET " + strings.Join(set, ", ") + ", updated_at = now() WHERE id = $1" +
			" RETURNING coalesce(created_by, 0), created_at, updated_at"
}()

// contactValues are the values of contactFields for c.
func contactValues(c *directory.Contact) []any {
	vals := make([]any, len(contactFields))
	for i, f := range contactFields {
		vals[i] = f.val(c)
	}
	return vals
}

// zeroNull scans a nullable ID, NULL as 0.
type zeroNull struct{ id *int64 }

func (z zeroNull) ScanInt64(v pgtype.Int8) error {
	*z.id = v.Int64
	return nil
}

func scanContact(row pgx.Row) (directory.Contact, error) {
	var c directory.Contact
	dest := append(make([]any, 0, len(contactFields)+5), &c.ID)
	for _, f := range contactFields {
		if f.dest != nil {
			dest = append(dest, f.dest(&c))
		}
	}
	err := row.Scan(append(dest, &c.CreatedBy, &c.CreatedAt, &c.UpdatedAt, &c.Phones)...)
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	c.Phones = nilIfEmpty(c.Phones)
	return c, err
}

func scanContactRow(r pgx.CollectableRow) (directory.Contact, error) { return scanContact(r) }

func (s *Store) queryContacts(ctx context.Context, sql string, args ...any) ([]directory.Contact, error) {
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	cs, err := pgx.CollectRows(rows, scanContactRow)
	return nilIfEmpty(cs), err
}

// setPhones replaces the phones of a contact, keeping their order.
func setPhones(ctx context.Context, tx pgx.Tx, id int64, phones []string) error {
	if _, err := tx.Exec(ctx, "DELETE FROM contact_phones WHERE contact_id = $1", id); err != nil {
		return err
	}
	if phones == nil {
		phones = []string{}
	}
	_, err := tx.Exec(ctx, `INSERT INTO contact_phones (contact_id, phone, pos)
		SELECT $1, p, min(n) FROM unnest($2::text[]) WITH ORDINALITY AS x (p, n) GROUP BY p`, id, phones)
	return err
}

// CreateContact stores c and sets its ID and times.
func (s *Store) CreateContact(ctx context.Context, c *directory.Contact) error {
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, insertContactSQL, append(contactValues(c), nullID(c.CreatedBy))...).
			Scan(&c.ID, &c.CreatedBy, &c.CreatedAt, &c.UpdatedAt)
		if err != nil {
			return err
		}
		return setPhones(ctx, tx, c.ID, c.Phones)
	})
	if err != nil {
		c.ID = 0
		return mapErr("create contact", err)
	}
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	return nil
}

// Contact returns one contact.
func (s *Store) Contact(ctx context.Context, id int64) (*directory.Contact, error) {
	c, err := scanContact(s.pool.QueryRow(ctx, "SELECT "+contactColumns+" FROM contacts c WHERE c.id = $1", id))
	if err != nil {
		return nil, mapErr(fmt.Sprintf("contact %d", id), err)
	}
	return &c, nil
}

// contactVisible adds the visibility condition of contacts c to w.
func contactVisible(w *where, v directory.Visibility) {
	if v.All {
		return
	}
	users := w.arg(ids(v.UserIDs))
	w.add(fmt.Sprintf("(c.assigned_to = ANY(%[1]s) OR c.created_by = ANY(%[1]s)"+
		" OR (%[2]s AND c.assigned_to IS NULL) OR (%[3]s AND c.public))", users, w.arg(v.Unassigned), w.arg(v.Public)))
}

// Contacts lists contacts by name, then ID.
func (s *Store) Contacts(ctx context.Context, f directory.ContactFilter) ([]directory.Contact, error) {
	w := &where{}
	if q := directory.Fold(f.Search); q != "" {
		cond := "strpos(c.search, " + w.arg(q) + ") > 0"
		if num := directory.NumberTerm(f.Search); num != "" {
			cond += " OR EXISTS (SELECT 1 FROM contact_phones p WHERE p.contact_id = c.id AND strpos(p.phone, " +
				w.arg(num) + ") > 0)"
		}
		w.add("(" + cond + ")")
	}
	if f.Phone != "" {
		w.add("EXISTS (SELECT 1 FROM contact_phones p WHERE p.contact_id = c.id AND p.phone = " + w.arg(f.Phone) + ")")
	}
	contactVisible(w, f.Vis)
	limit, offset := f.Page.Limit()
	out, err := s.queryContacts(ctx, "SELECT "+contactColumns+" FROM contacts c"+w.sql()+
		" ORDER BY c.search, c.id LIMIT "+w.arg(limit)+" OFFSET "+w.arg(offset), w.args...)
	return out, mapErr("contacts", err)
}

// UpdateContact replaces every field of the contact c.ID but its creator and
// creation time, which it fills in, and sets c.UpdatedAt.
func (s *Store) UpdateContact(ctx context.Context, c *directory.Contact) error {
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, updateContactSQL, append([]any{c.ID}, contactValues(c)...)...).
			Scan(&c.CreatedBy, &c.CreatedAt, &c.UpdatedAt)
		if err != nil {
			return err
		}
		return setPhones(ctx, tx, c.ID, c.Phones)
	})
	if err != nil {
		return mapErr(fmt.Sprintf("update contact %d", c.ID), err)
	}
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	return nil
}

// DeleteContact deletes a contact and its phones.
func (s *Store) DeleteContact(ctx context.Context, id int64) error {
	tag, err := s.pool.Exec(ctx, "DELETE FROM contacts WHERE id = $1", id)
	if err == nil && tag.RowsAffected() == 0 {
		err = pgx.ErrNoRows
	}
	return mapErr(fmt.Sprintf("delete contact %d", id), err)
}

// ContactsByPhone returns every contact with the E.164 number, by name.
func (s *Store) ContactsByPhone(ctx context.Context, phone string) ([]directory.Contact, error) {
	out, err := s.queryContacts(ctx, "SELECT "+contactColumns+` FROM contacts c
		WHERE c.id IN (SELECT contact_id FROM contact_phones WHERE phone = $1) ORDER BY c.search, c.id`, phone)
	return out, mapErr("contacts by phone", err)
}
