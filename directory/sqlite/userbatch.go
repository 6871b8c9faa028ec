package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
)

// CreateUsers stores each of us as CreateUser does, in one write
// transaction: the first user refused rolls every other back and is named
// by a *directory.RowError. Roles and groups are read once for the batch,
// not once per user.
func (s *Store) CreateUsers(ctx context.Context, us []*directory.User) error {
	if len(us) == 0 {
		return nil
	}
	for i, u := range us {
		if err := u.CheckNew(); err != nil {
			return fmt.Errorf("create users: %w", &directory.RowError{Index: i, Err: err})
		}
	}
	type result struct {
		id            int64
		roles, groups []int64
	}
	res := make([]result, len(us))
	t := now()
	err := s.write(ctx, func(tx *sql.Tx) error {
		refs, err := loadBatchRefs(ctx, tx)
		if err != nil {
			return err
		}
		for i, u := range us {
			c := *u
			r := &res[i]
			if r.roles, err = refs.roles(ctx, tx, c.RoleIDs); err == nil {
				r.groups, err = refs.groups(c.GroupIDs, c.Extension)
			}
			if err == nil {
				r.id, err = createUserTx(ctx, tx, &c, r.roles, r.groups, t)
			}
			if err != nil {
				return &directory.RowError{Index: i, Err: err}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("create users: %w", err)
	}
	for i, u := range us {
		u.ID, u.RoleIDs, u.GroupIDs, u.CreatedAt, u.UpdatedAt = res[i].id, res[i].roles, res[i].groups, t, t
	}
	return nil
}

// createUserTx writes one user of a batch the way CreateUser does: the row,
// its number, roles, groups, and the change that tells the SIP side.
func createUserTx(ctx context.Context, tx *sql.Tx, u *directory.User, roles, groups []int64, t time.Time) (int64, error) {
	id, err := insertUser(ctx, tx, u, t)
	if err != nil {
		if isUnique(err) {
			return 0, directory.ErrEmailTaken
		}
		return 0, err
	}
	if err := insertUserExtension(ctx, tx, u.Extension, id); err != nil {
		return 0, err
	}
	if err := insertUserRoles(ctx, tx, id, roles); err != nil {
		return 0, err
	}
	if err := insertMemberships(ctx, tx, id, groups); err != nil {
		return 0, err
	}
	return id, logChange(ctx, tx, directory.ChangeUser, id, "", "")
}

// batchRefs holds the roles and groups a batch is checked against, read in
// its transaction (the write lock keeps them from changing under it).
type batchRefs struct {
	roleIDs   map[int64]bool
	groupByID map[int64]directory.Group
	defRole   int64 // 0 until a user needs it
	defGroup  *directory.Group
}

func loadBatchRefs(ctx context.Context, tx *sql.Tx) (*batchRefs, error) {
	b := &batchRefs{roleIDs: map[int64]bool{}, groupByID: map[int64]directory.Group{}}
	rows, err := tx.QueryContext(ctx, `SELECT id FROM roles`)
	if err != nil {
		return nil, err
	}
	ids, err := scanIDs(rows)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		b.roleIDs[id] = true
	}
	rows, err = tx.QueryContext(ctx, `SELECT `+groupCols+` FROM groups g`)
	if err != nil {
		return nil, err
	}
	gs, err := scanGroups(rows)
	if err != nil {
		return nil, err
	}
	for _, g := range gs {
		b.groupByID[g.ID] = g
		if g.Default {
			b.defGroup = &g
		}
	}
	return b, nil
}

// roles is resolveRoles against the roles read for the batch.
func (b *batchRefs) roles(ctx context.Context, tx *sql.Tx, ids []int64) ([]int64, error) {
	ids = uniqueIDs(ids)
	if len(ids) == 0 {
		if b.defRole == 0 {
			id, err := defaultRoleID(ctx, tx)
			if err != nil {
				return nil, err
			}
			b.defRole = id
		}
		return []int64{b.defRole}, nil
	}
	for _, id := range ids {
		if !b.roleIDs[id] {
			return nil, directory.ErrUnknownRole
		}
	}
	return ids, nil
}

// groups is resolveGroups against the groups read for the batch.
func (b *batchRefs) groups(ids []int64, ext string) ([]int64, error) {
	ids = uniqueIDs(ids)
	if len(ids) == 0 {
		if b.defGroup == nil {
			return nil, fmt.Errorf("default group: %w", sql.ErrNoRows)
		}
		ids = []int64{b.defGroup.ID}
	}
	for _, id := range ids {
		g, ok := b.groupByID[id]
		if !ok {
			return nil, directory.ErrUnknownGroup
		}
		if err := directory.CheckPrefix(g, ext); err != nil {
			return nil, err
		}
	}
	return ids, nil
}
