package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/switchboard-pbx/switchboard/directory"
)

// groupField is one column of groups: what a write stores from a
// directory.Group and where a read scans it.
type groupField struct {
	col  string
	val  func(g *directory.Group) any
	dest func(r *groupRow) any
}

// groupRow is a group as scanned, with the columns that need converting.
type groupRow struct {
	g               directory.Group
	parent, created sql.NullInt64
	ext             sql.NullString
}

// groupFields is the one list of the columns of groups that CreateGroup
// and UpdateGroup write; groupCols reads them with the ID, the default flag
// and the creation time, which only the store sets.
var groupFields = []groupField{
	{"name", func(g *directory.Group) any { return g.Name }, func(r *groupRow) any { return &r.g.Name }},
	{"parent_id", func(g *directory.Group) any { return nullID(g.ParentID) }, func(r *groupRow) any { return &r.parent }},
	{"extension", func(g *directory.Group) any { return nullString(g.Extension) }, func(r *groupRow) any { return &r.ext }},
	{"prefix", func(g *directory.Group) any { return g.Prefix }, func(r *groupRow) any { return &r.g.Prefix }},
}

// groupCols are the columns scanGroup reads, from groups g;
// insertGroupSQL takes groupValues and the creation time, updateGroupSQL
// groupValues and the ID.
var groupCols, insertGroupSQL, updateGroupSQL = func() (string, string, string) {
	var read, cols, set []string
	for _, f := range groupFields {
		cols = append(cols, f.col)
		read = append(read, "g."+f.col)
		set = append(set, f.col+" = ?")
	}
	return "g.id, " + strings.Join(read, ", ") + ", g.is_default, g.created_at",
		"INSERT INTO groups (" + strings.Join(cols, ", ") + ", created_at) VALUES (" +
			strings.Repeat("?, ", len(cols)) + "?) RETURNING id",
		"UPDATE groups SET " + strings.Join(set, ", ") + " WHERE id = ?"
}()

// groupValues are the values of groupFields for g.
func groupValues(g *directory.Group) []any {
	vals := make([]any, len(groupFields))
	for i, f := range groupFields {
		vals[i] = f.val(g)
	}
	return vals
}

func scanGroup(sc scanner) (*directory.Group, error) {
	var r groupRow
	dest := append(make([]any, 0, len(groupFields)+3), &r.g.ID)
	for _, f := range groupFields {
		dest = append(dest, f.dest(&r))
	}
	if err := sc.Scan(append(dest, &r.g.Default, &r.created)...); err != nil {
		return nil, err
	}
	g := &r.g
	g.ParentID, g.Extension, g.CreatedAt = r.parent.Int64, r.ext.String, fromMicros(r.created)
	return g, nil
}

func scanGroups(rows *sql.Rows) ([]directory.Group, error) {
	defer rows.Close()
	var gs []directory.Group
	for rows.Next() {
		g, err := scanGroup(rows)
		if err != nil {
			return nil, err
		}
		gs = append(gs, *g)
	}
	return gs, rows.Err()
}

func getGroup(ctx context.Context, q querier, id int64) (*directory.Group, error) {
	return scanGroup(q.QueryRowContext(ctx, `SELECT `+groupCols+` FROM groups g WHERE g.id = ?`, id))
}

func defaultGroup(ctx context.Context, q querier) (*directory.Group, error) {
	return scanGroup(q.QueryRowContext(ctx, `SELECT `+groupCols+` FROM groups g WHERE g.is_default = 1`))
}

func groupsByID(ctx context.Context, q querier, ids []int64) ([]directory.Group, error) {
	in, args := inIDs("g.id", ids)
	rows, err := q.QueryContext(ctx, `SELECT `+groupCols+` FROM groups g WHERE `+in+` ORDER BY g.id`, args...)
	if err != nil {
		return nil, err
	}
	return scanGroups(rows)
}

// CreateGroup stores g, with its extension if it has one, and sets g.ID.
func (s *Store) CreateGroup(ctx context.Context, g *directory.Group) error {
	if err := g.Validate(); err != nil {
		return fmt.Errorf("create group: %w", err)
	}
	t := now()
	var id int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		if err := checkParent(ctx, tx, 0, g.ParentID); err != nil {
			return err
		}
		err := tx.QueryRowContext(ctx, insertGroupSQL, append(groupValues(g), t.UnixMicro())...).Scan(&id)
		if err != nil {
			return err
		}
		if err := insertGroupExtension(ctx, tx, g.Extension, id); err != nil {
			return err
		}
		return logChange(ctx, tx, directory.ChangeGroup, id, "", "")
	})
	if err != nil {
		return fmt.Errorf("create group %q: %w", g.Name, err)
	}
	g.ID, g.Default, g.CreatedAt = id, false, t
	return nil
}

// checkParent refuses a parent that does not exist or that is the group id
// itself or lies in its subtree (0: a new group).
func checkParent(ctx context.Context, tx *sql.Tx, id, parent int64) error {
	if parent == 0 {
		return nil
	}
	var exists, inSubtree bool
	err := tx.QueryRowContext(ctx, `WITH RECURSIVE sub (id) AS (
			SELECT ?
			UNION
			SELECT g.id FROM groups g JOIN sub s ON g.parent_id = s.id
		)
		SELECT EXISTS (SELECT 1 FROM groups WHERE id = ?), ? IN (SELECT id FROM sub)`,
		id, parent, parent).Scan(&exists, &inSubtree)
	switch {
	case err != nil:
		return fmt.Errorf("check parent: %w", err)
	case !exists:
		return &directory.InvalidError{Field: "parent", Rule: "unknown group"}
	case inSubtree:
		return &directory.InvalidError{Field: "parent", Rule: "a group cannot move under itself or its subgroups"}
	}
	return nil
}

// insertGroupExtension claims ext for a group ("" claims nothing).
func insertGroupExtension(ctx context.Context, tx *sql.Tx, ext string, groupID int64) error {
	if ext == "" {
		return nil
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO extensions (number, group_id) VALUES (?, ?)`, ext, groupID)
	if isUnique(err) {
		return directory.ErrExtensionTaken
	}
	return err
}

// Group returns a group.
func (s *Store) Group(ctx context.Context, id int64) (*directory.Group, error) {
	g, err := getGroup(ctx, s.rdb, id)
	if err != nil {
		return nil, fmt.Errorf("group %d: %w", id, s.fail(err))
	}
	return g, nil
}

// GroupByExtension returns the group with the extension number.
func (s *Store) GroupByExtension(ctx context.Context, ext string) (*directory.Group, error) {
	g, err := scanGroup(s.rdb.QueryRowContext(ctx, `SELECT `+groupCols+` FROM extensions x
		JOIN groups g ON g.id = x.group_id WHERE x.number = ?`, ext))
	if err != nil {
		return nil, fmt.Errorf("group by extension %s: %w", ext, s.fail(err))
	}
	return g, nil
}

// Groups returns every group, level by level from the top (parents before
// children), by name within a level.
func (s *Store) Groups(ctx context.Context) ([]directory.Group, error) {
	rows, err := s.rdb.QueryContext(ctx, `WITH RECURSIVE tree (id, depth) AS (
			SELECT id, 0 FROM groups WHERE parent_id IS NULL
			UNION ALL
			SELECT g.id, t.depth + 1 FROM groups g JOIN tree t ON g.parent_id = t.id
		)
		SELECT `+groupCols+` FROM groups g JOIN tree t ON t.id = g.id
		ORDER BY t.depth, g.name, g.id`)
	if err != nil {
		return nil, fmt.Errorf("groups: %w", s.fail(err))
	}
	gs, err := scanGroups(rows)
	if err != nil {
		return nil, fmt.Errorf("groups: %w", s.fail(err))
	}
	return gs, nil
}

// DefaultGroup returns the group new users land in.
func (s *Store) DefaultGroup(ctx context.Context) (*directory.Group, error) {
	g, err := defaultGroup(ctx, s.rdb)
	if err != nil {
		return nil, fmt.Errorf("default group: %w", s.fail(err))
	}
	return g, nil
}

// UpdateGroup changes the name, parent, extension and prefix of g.
func (s *Store) UpdateGroup(ctx context.Context, g *directory.Group) error {
	if err := g.Validate(); err != nil {
		return fmt.Errorf("update group %d: %w", g.ID, err)
	}
	var cur *directory.Group
	err := s.write(ctx, func(tx *sql.Tx) error {
		var err error
		if cur, err = getGroup(ctx, tx, g.ID); err != nil {
			return err
		}
		if cur.Default && g.Name != cur.Name {
			return directory.ErrDefaultGroup
		}
		if err := checkParent(ctx, tx, g.ID, g.ParentID); err != nil {
			return err
		}
		if g.Extension != cur.Extension {
			if _, err := tx.ExecContext(ctx, `DELETE FROM extensions WHERE group_id = ?`, g.ID); err != nil {
				return err
			}
			if err := insertGroupExtension(ctx, tx, g.Extension, g.ID); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, updateGroupSQL, append(groupValues(g), g.ID)...)
		if err != nil {
			return err
		}
		return logChange(ctx, tx, directory.ChangeGroup, g.ID, "", "")
	})
	if err != nil {
		return fmt.Errorf("update group %d: %w", g.ID, err)
	}
	g.Default, g.CreatedAt = cur.Default, cur.CreatedAt
	return nil
}

// DeleteGroup deletes a group without subgroups and without members that
// are not deleted; memberships of deleted users go with it.
func (s *Store) DeleteGroup(ctx context.Context, id int64) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		g, err := getGroup(ctx, tx, id)
		if err != nil {
			return err
		}
		if g.Default {
			return directory.ErrDefaultGroup
		}
		var busy bool
		err = tx.QueryRowContext(ctx, `SELECT
			EXISTS (SELECT 1 FROM groups WHERE parent_id = ?)
			OR EXISTS (SELECT 1 FROM group_members m JOIN users u ON u.id = m.user_id
				WHERE m.group_id = ? AND u.state <> 'deleted')`, id, id).Scan(&busy)
		if err != nil {
			return err
		}
		if busy {
			return directory.ErrGroupNotEmpty
		}
		for _, q := range []string{
			`DELETE FROM group_members WHERE group_id = ?`,
			`DELETE FROM extensions WHERE group_id = ?`,
			`DELETE FROM groups WHERE id = ?`,
		} {
			if _, err := tx.ExecContext(ctx, q, id); err != nil {
				return err
			}
		}
		return logChange(ctx, tx, directory.ChangeGroup, id, "", "")
	})
	if err != nil {
		return fmt.Errorf("delete group %d: %w", id, err)
	}
	return nil
}

// GroupMembers returns the IDs of the group's users that are not deleted.
func (s *Store) GroupMembers(ctx context.Context, id int64) ([]int64, error) {
	tx, err := s.rdb.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("members of group %d: %w", id, s.fail(err))
	}
	defer tx.Rollback()
	ids, err := groupMembers(ctx, tx, id)
	if err != nil {
		return nil, fmt.Errorf("members of group %d: %w", id, s.fail(err))
	}
	return ids, nil
}

func groupMembers(ctx context.Context, tx *sql.Tx, id int64) ([]int64, error) {
	if _, err := getGroup(ctx, tx, id); err != nil {
		return nil, err
	}
	rows, err := tx.QueryContext(ctx, `SELECT m.user_id FROM group_members m JOIN users u ON u.id = m.user_id
		WHERE m.group_id = ? AND u.state <> 'deleted' ORDER BY m.user_id`, id)
	if err != nil {
		return nil, err
	}
	return scanIDs(rows)
}

// AddMember puts a user (not deleted) into a group whose prefix their
// extension starts with; adding a member again does nothing.
func (s *Store) AddMember(ctx context.Context, groupID, userID int64) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		g, err := getGroup(ctx, tx, groupID)
		if err != nil {
			return err
		}
		u, err := liveUser(ctx, tx, userID)
		if err != nil {
			return err
		}
		if containsID(u.GroupIDs, groupID) {
			return nil
		}
		if err := directory.CheckPrefix(*g, u.Extension); err != nil {
			return err
		}
		if err := insertMemberships(ctx, tx, userID, []int64{groupID}); err != nil {
			return err
		}
		return logChange(ctx, tx, directory.ChangeGroup, groupID, "", "")
	})
	if err != nil {
		return fmt.Errorf("add user %d to group %d: %w", userID, groupID, err)
	}
	return nil
}

// RemoveMember takes a user out of a group; removing a user who is not a
// member does nothing.
func (s *Store) RemoveMember(ctx context.Context, groupID, userID int64) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		if _, err := getGroup(ctx, tx, groupID); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM group_members WHERE group_id = ? AND user_id = ?`, groupID, userID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		return logChange(ctx, tx, directory.ChangeGroup, groupID, "", "")
	})
	if err != nil {
		return fmt.Errorf("remove user %d from group %d: %w", userID, groupID, err)
	}
	return nil
}
