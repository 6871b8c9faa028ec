package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/switchboard-pbx/switchboard/directory"
)

// groupField is one column of groups: what a write stores from a
// directory.Group, how a read selects it and where it scans it.
type groupField struct {
	col, read string
	val       func(g *directory.Group) any
	dest      func(g *directory.Group) any
}

// groupFields is the one list of the columns of groups that CreateGroup
// and UpdateGroup write; groupColumns reads them with the ID, the default
// flag and the creation time, which only the store sets.
var groupFields = []groupField{
	{"name", "name", func(g *directory.Group) any { return g.Name }, func(g *directory.Group) any { return &g.Name }},
	{"parent_id", "coalesce(parent_id, 0)", func(g *directory.Group) any { return nullID(g.ParentID) },
		func(g *directory.Group) any { return &g.ParentID }},
	{"extension", "coalesce(extension, '')", func(g *directory.Group) any { return nullString(g.Extension) },
		func(g *directory.Group) any { return &g.Extension }},
	{"prefix", "prefix", func(g *directory.Group) any { return g.Prefix }, func(g *directory.Group) any { return &g.Prefix }},
}

// groupColumns are read by scanGroup, from groups unaliased;
// insertGroupSQL takes groupValues, updateGroupSQL the ID and then
// groupValues.
var groupColumns, insertGroupSQL, updateGroupSQL = func() (string, string, string) {
	var read, cols, vals, set []string
	for i, f := range groupFields {
		cols = append(cols, f.col)
		read = append(read, f.read)
		vals = append(vals, "$"+strconv.Itoa(i+1))
		set = append(set, f.col+" = $"+strconv.Itoa(i+2))
	}
	return "id, " + strings.Join(read, ", ") + ", is_default, created_at",
		"INSERT INTO groups (" + strings.Join(cols, ", ") + ") VALUES (" + strings.Join(vals, ", ") +
			") RETURNING id, created_at",
		"UPDATE groups SET " + strings.Join(set, ", ") + " WHERE id = $1"
}()

// groupValues are the values of groupFields for g.
func groupValues(g *directory.Group) []any {
	vals := make([]any, len(groupFields))
	for i, f := range groupFields {
		vals[i] = f.val(g)
	}
	return vals
}

func scanGroup(row pgx.Row) (directory.Group, error) {
	var g directory.Group
	dest := append(make([]any, 0, len(groupFields)+3), &g.ID)
	for _, f := range groupFields {
		dest = append(dest, f.dest(&g))
	}
	err := row.Scan(append(dest, &g.Default, &g.CreatedAt)...)
	g.CreatedAt = g.CreatedAt.UTC()
	return g, err
}

func scanGroupRow(r pgx.CollectableRow) (directory.Group, error) { return scanGroup(r) }

func groupChange(id int64) directory.Change {
	return directory.Change{Kind: directory.ChangeGroup, ID: id}
}

// CreateGroup stores g and sets its ID and creation time. The parent must
// exist; the group's extension is taken in the extensions table, so it
// cannot clash with a user's or another group's. A new group is never the
// default one.
func (s *Store) CreateGroup(ctx context.Context, g *directory.Group) error {
	if err := g.Validate(); err != nil {
		return fmt.Errorf("create group: %w", err)
	}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, insertGroupSQL, groupValues(g)...).Scan(&g.ID, &g.CreatedAt)
		if err != nil {
			return err
		}
		if g.Extension != "" {
			if _, err := tx.Exec(ctx, "INSERT INTO extensions (number, group_id) VALUES ($1, $2)",
				g.Extension, g.ID); err != nil {
				return err
			}
		}
		return logChanges(ctx, tx, groupChange(g.ID))
	})
	if err != nil {
		g.ID = 0
		return mapErr("create group", err)
	}
	g.Default = false
	g.CreatedAt = g.CreatedAt.UTC()
	return nil
}

// Group returns one group.
func (s *Store) Group(ctx context.Context, id int64) (*directory.Group, error) {
	g, err := scanGroup(s.pool.QueryRow(ctx, "SELECT "+groupColumns+" FROM groups WHERE id = $1", id))
	if err != nil {
		return nil, mapErr(fmt.Sprintf("group %d", id), err)
	}
	return &g, nil
}

// GroupByExtension returns the group whose number is ext.
func (s *Store) GroupByExtension(ctx context.Context, ext string) (*directory.Group, error) {
	g, err := scanGroup(s.pool.QueryRow(ctx, "SELECT "+groupColumns+
		" FROM groups WHERE id = (SELECT group_id FROM extensions WHERE number = $1)", ext))
	if err != nil {
		return nil, mapErr("group by extension "+strconv.Quote(ext), err)
	}
	return &g, nil
}

// Groups returns every group, parents before children: by depth in the
// tree, then by name.
func (s *Store) Groups(ctx context.Context) ([]directory.Group, error) {
	rows, err := s.pool.Query(ctx, `WITH RECURSIVE t (id, depth) AS (
			SELECT id, 0 FROM groups WHERE parent_id IS NULL
			UNION ALL
			SELECT g.id, t.depth + 1 FROM groups g JOIN t ON g.parent_id = t.id
		)
		SELECT `+groupColumns+` FROM groups JOIN t USING (id) ORDER BY t.depth, name, id`)
	if err != nil {
		return nil, mapErr("groups", err)
	}
	gs, err := pgx.CollectRows(rows, scanGroupRow)
	return nilIfEmpty(gs), mapErr("groups", err)
}

// DefaultGroup returns the group new users go in when none is chosen.
func (s *Store) DefaultGroup(ctx context.Context) (*directory.Group, error) {
	g, err := scanGroup(s.pool.QueryRow(ctx, "SELECT "+groupColumns+" FROM groups WHERE is_default"))
	if err != nil {
		return nil, mapErr("default group", err)
	}
	return &g, nil
}

// UpdateGroup changes name, parent, extension and prefix. The default group
// keeps its name; a group cannot move under itself or its subtree. A new
// prefix does not re-check the members already in the group.
func (s *Store) UpdateGroup(ctx context.Context, g *directory.Group) error {
	op := fmt.Sprintf("update group %d", g.ID)
	if err := g.Validate(); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	var cur directory.Group
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		// Moves are serialized, so that the subtree checked below is the
		// tree the move lands in.
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", lockGroupTree); err != nil {
			return err
		}
		var err error
		cur, err = scanGroup(tx.QueryRow(ctx, "SELECT "+groupColumns+" FROM groups WHERE id = $1 FOR NO KEY UPDATE", g.ID))
		if err != nil {
			return err
		}
		if cur.Default && g.Name != cur.Name {
			return directory.ErrDefaultGroup
		}
		if g.ParentID != 0 && g.ParentID != cur.ParentID {
			var cycle bool
			err := tx.QueryRow(ctx, `WITH RECURSIVE sub (id) AS (
					SELECT $1::int8
					UNION
					SELECT g.id FROM groups g JOIN sub ON g.parent_id = sub.id
				)
				SELECT EXISTS (SELECT 1 FROM sub WHERE id = $2)`, g.ID, g.ParentID).Scan(&cycle)
			if err != nil {
				return err
			}
			if cycle {
				return &directory.InvalidError{Field: "parent", Rule: "cannot be the group itself or one of its subgroups"}
			}
		}
		_, err = tx.Exec(ctx, updateGroupSQL, append([]any{g.ID}, groupValues(g)...)...)
		if err != nil {
			return err
		}
		if g.Extension != cur.Extension {
			if _, err := tx.Exec(ctx, "DELETE FROM extensions WHERE group_id = $1", g.ID); err != nil {
				return err
			}
			if g.Extension != "" {
				if _, err := tx.Exec(ctx, "INSERT INTO extensions (number, group_id) VALUES ($1, $2)",
					g.Extension, g.ID); err != nil {
					return err
				}
			}
		}
		return logChanges(ctx, tx, groupChange(g.ID))
	})
	if err != nil {
		return mapErr(op, err)
	}
	g.Default, g.CreatedAt = cur.Default, cur.CreatedAt
	return nil
}

// DeleteGroup deletes a group without subgroups and without members that
// are not deleted; memberships of deleted users go with it. The default
// group stays.
func (s *Store) DeleteGroup(ctx context.Context, id int64) error {
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		// FOR UPDATE makes concurrent inserts that reference the group
		// (members, subgroups) wait, and then fail on the foreign key.
		var def bool
		if err := tx.QueryRow(ctx, "SELECT is_default FROM groups WHERE id = $1 FOR UPDATE", id).Scan(&def); err != nil {
			return err
		}
		if def {
			return directory.ErrDefaultGroup
		}
		var busy bool
		err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM groups WHERE parent_id = $1)
			OR EXISTS (SELECT 1 FROM group_members m JOIN users u ON u.id = m.user_id
				WHERE m.group_id = $1 AND u.state <> 'deleted')`, id).Scan(&busy)
		if err != nil {
			return err
		}
		if busy {
			return directory.ErrGroupNotEmpty
		}
		for _, q := range []string{
			"DELETE FROM group_members WHERE group_id = $1",
			"DELETE FROM extensions WHERE group_id = $1",
			"DELETE FROM groups WHERE id = $1",
		} {
			if _, err := tx.Exec(ctx, q, id); err != nil {
				return err
			}
		}
		return logChanges(ctx, tx, groupChange(id))
	})
	return mapErr(fmt.Sprintf("delete group %d", id), err)
}

// GroupMembers returns the IDs of the group's users that are not deleted.
func (s *Store) GroupMembers(ctx context.Context, id int64) ([]int64, error) {
	var found bool
	var members []int64
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM groups WHERE id = $1),
		ARRAY(SELECT m.user_id FROM group_members m JOIN users u ON u.id = m.user_id
			WHERE m.group_id = $1 AND u.state <> 'deleted' ORDER BY m.user_id)`, id).Scan(&found, &members)
	if err == nil && !found {
		err = pgx.ErrNoRows
	}
	return nilIfEmpty(members), mapErr(fmt.Sprintf("members of group %d", id), err)
}

// AddMember puts a user that is not deleted in a group, checking the
// group's prefix. Adding a member twice changes nothing.
func (s *Store) AddMember(ctx context.Context, groupID, userID int64) error {
	op := fmt.Sprintf("add user %d to group %d", userID, groupID)
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		g, err := scanGroup(tx.QueryRow(ctx, "SELECT "+groupColumns+" FROM groups WHERE id = $1 FOR KEY SHARE", groupID))
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("group %d: %w", groupID, directory.ErrNotFound)
		}
		if err != nil {
			return err
		}
		var ext string
		err = tx.QueryRow(ctx, "SELECT extension FROM users WHERE id = $1 AND state <> 'deleted' FOR KEY SHARE",
			userID).Scan(&ext)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("user %d: %w", userID, directory.ErrNotFound)
		}
		if err != nil {
			return err
		}
		if err := directory.CheckPrefix(g, ext); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, "INSERT INTO group_members (group_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
			groupID, userID)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		return logChanges(ctx, tx, groupChange(groupID))
	})
	return mapErr(op, err)
}

// RemoveMember takes a user out of a group; removing one that is not a
// member changes nothing. An unknown group is ErrNotFound.
func (s *Store) RemoveMember(ctx context.Context, groupID, userID int64) error {
	op := fmt.Sprintf("remove user %d from group %d", userID, groupID)
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, "DELETE FROM group_members WHERE group_id = $1 AND user_id = $2", groupID, userID)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			var found bool
			if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM groups WHERE id = $1)", groupID).Scan(&found); err != nil {
				return err
			}
			if !found {
				return fmt.Errorf("group %d: %w", groupID, directory.ErrNotFound)
			}
			return nil
		}
		return logChanges(ctx, tx, groupChange(groupID))
	})
	return mapErr(op, err)
}
