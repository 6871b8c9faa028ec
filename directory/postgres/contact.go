package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/switchboard-pbx/switchboard/directory"
)

// contactColumns are read by scanContact, from contacts aliased c.
const contactColumns = `c.id, c.name, c.company, c.email, coalesce(c.assigned_to, 0), coalesce(c.created_by, 0),
	c.public, c.notes, c.created_at, c.updated_at,
	ARRAY(SELECT phone FROM contact_phones WHERE contact_id = c.id ORDER BY pos, phone)`

func scanContact(row pgx.Row) (directory.Contact, error) {
	var c directory.Contact
	err := row.Scan(&c.ID, &c.Name, &c.Company, &c.Email, &c.AssignedTo, &c.CreatedBy, &c.Public, &c.Notes,
		&c.CreatedAt, &c.UpdatedAt, &c.Phones)
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
		err := tx.QueryRow(ctx, `INSERT INTO contacts (name, company, email, assigned_to, created_by, public, notes)
			VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id, created_at, updated_at`,
			c.Name, c.Company, c.Email, nullID(c.AssignedTo), nullID(c.CreatedBy), c.Public, c.Notes,
		).Scan(&c.ID, &c.CreatedAt, &c.UpdatedAt)
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
	if f.Search != "" {
		p := w.arg(f.Search)
		w.add(fmt.Sprintf("(strpos(lower(c.name), lower(%[1]s)) > 0 OR strpos(lower(c.company), lower(%[1]s)) > 0"+
			" OR EXISTS (SELECT 1 FROM contact_phones p WHERE p.contact_id = c.id AND strpos(p.phone, %[1]s) > 0))", p))
	}
	if f.Phone != "" {
		w.add("EXISTS (SELECT 1 FROM contact_phones p WHERE p.contact_id = c.id AND p.phone = " + w.arg(f.Phone) + ")")
	}
	contactVisible(w, f.Vis)
	limit, offset := f.Page.Limit()
	out, err := s.queryContacts(ctx, "SELECT "+contactColumns+" FROM contacts c"+w.sql()+
		" ORDER BY c.name, c.id LIMIT "+w.arg(limit)+" OFFSET "+w.arg(offset), w.args...)
	return out, mapErr("contacts", err)
}

// UpdateContact replaces every field of the contact c.ID and sets
// c.UpdatedAt.
func (s *Store) UpdateContact(ctx context.Context, c *directory.Contact) error {
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `UPDATE contacts SET name = $2, company = $3, email = $4, assigned_to = $5,
			created_by = $6, public = $7, notes = $8, updated_at = now() WHERE id = $1
			RETURNING created_at, updated_at`,
			c.ID, c.Name, c.Company, c.Email, nullID(c.AssignedTo), nullID(c.CreatedBy), c.Public, c.Notes,
		).Scan(&c.CreatedAt, &c.UpdatedAt)
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
		WHERE c.id IN (SELECT contact_id FROM contact_phones WHERE phone = $1) ORDER BY c.name, c.id`, phone)
	return out, mapErr("contacts by phone", err)
}
