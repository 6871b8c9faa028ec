package postgres

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/switchboard-pbx/switchboard/directory"
)

// batchChunk is how many users go to the server in one pipeline: enough to
// hide the round trips, few enough that a refused user stops the rest soon.
const batchChunk = 500

// insertBatchUser writes one user of a batch with its number, roles and
// groups in one statement, so that a batch is pipelined and a refusal
// belongs to exactly one statement (foreign keys are checked at the end of
// the statement, after every part of it ran).
var insertBatchUser = `WITH u AS (` + insertUserSQL + `),
	x AS (INSERT INTO extensions (number, user_id) SELECT ` + userArg("extension") + `, id FROM u),
	r AS (INSERT INTO user_roles (user_id, role_id) SELECT u.id, unnest($` + strconv.Itoa(len(userFields)+1) + `::int8[]) FROM u),
	g AS (INSERT INTO group_members (group_id, user_id) SELECT unnest($` + strconv.Itoa(len(userFields)+2) + `::int8[]), u.id FROM u)
	SELECT id, created_at, updated_at FROM u`

// CreateUsers stores each of us as CreateUser does, in one transaction:
// the first user refused rolls every other back and is named by a
// *directory.RowError. Groups, roles and taken numbers are read once for
// the batch; the inserts are pipelined.
func (s *Store) CreateUsers(ctx context.Context, us []*directory.User) error {
	if len(us) == 0 {
		return nil
	}
	type result struct {
		id               int64
		created, updated time.Time
		roles, groups    []int64
	}
	res := make([]result, len(us))
	for i, u := range us {
		if err := u.CheckNew(); err != nil {
			return mapErr("create users", &directory.RowError{Index: i, Err: err})
		}
	}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		refs, err := loadBatchRefs(ctx, tx, us)
		if err != nil {
			return err
		}
		// The extensions table decides; this only makes a taken extension
		// win over a taken email, as in CreateUser.
		seen := make(map[string]bool, len(us))
		for i, u := range us {
			r := &res[i]
			err := refs.taken(u.Extension, seen)
			if err == nil {
				r.roles, err = refs.roles(ctx, tx, u.RoleIDs)
			}
			if err == nil {
				r.groups, err = refs.groups(u.GroupIDs, u.Extension)
			}
			if err != nil {
				return &directory.RowError{Index: i, Err: err}
			}
		}
		for start := 0; start < len(us); start += batchChunk {
			end := min(start+batchChunk, len(us))
			b := &pgx.Batch{}
			for i := start; i < end; i++ {
				u, r := us[i], &res[i]
				b.Queue(insertBatchUser, append(userValues(u), r.roles, r.groups)...)
			}
			br := tx.SendBatch(ctx, b)
			for i := start; i < end; i++ {
				r := &res[i]
				if err := br.QueryRow().Scan(&r.id, &r.created, &r.updated); err != nil {
					br.Close()
					return &directory.RowError{Index: i, Err: mapErr("create user "+us[i].Extension, err)}
				}
			}
			if err := br.Close(); err != nil {
				return err
			}
		}
		cs := make([]directory.Change, len(us))
		for i := range us {
			cs[i] = userChange(res[i].id)
		}
		return logChanges(ctx, tx, cs...)
	})
	if err != nil {
		return mapErr("create users", err)
	}
	for i, u := range us {
		r := res[i]
		u.ID, u.CreatedAt, u.UpdatedAt = r.id, r.created.UTC(), r.updated.UTC()
		u.RoleIDs, u.GroupIDs = sorted(r.roles), sorted(r.groups)
	}
	return nil
}

// batchRefs is what a batch is checked against, read once in its
// transaction: the groups it names (locked against deletion until commit,
// as checkGroups does), the roles it names and the numbers already taken.
type batchRefs struct {
	groupByID map[int64]directory.Group
	defGroup  int64
	roleIDs   map[int64]bool
	defRole   int64 // 0 until a user needs it
	takenExt  map[string]bool
}

func loadBatchRefs(ctx context.Context, tx pgx.Tx, us []*directory.User) (*batchRefs, error) {
	var gids, rids []int64
	exts := make([]string, 0, len(us))
	for _, u := range us {
		gids = append(gids, u.GroupIDs...)
		rids = append(rids, u.RoleIDs...)
		exts = append(exts, u.Extension)
	}
	gids, rids = ids(gids), ids(rids)
	b := &batchRefs{groupByID: map[int64]directory.Group{}, roleIDs: map[int64]bool{}, takenExt: map[string]bool{}}

	rows, err := tx.Query(ctx, "SELECT "+groupColumns+" FROM groups WHERE id = ANY($1) OR is_default FOR KEY SHARE", gids)
	if err != nil {
		return nil, err
	}
	gs, err := pgx.CollectRows(rows, scanGroupRow)
	if err != nil {
		return nil, err
	}
	for _, g := range gs {
		b.groupByID[g.ID] = g
		if g.Default {
			b.defGroup = g.ID
		}
	}

	rows, err = tx.Query(ctx, "SELECT id FROM roles WHERE id = ANY($1) FOR KEY SHARE", rids)
	if err != nil {
		return nil, err
	}
	found, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, err
	}
	for _, id := range found {
		b.roleIDs[id] = true
	}

	rows, err = tx.Query(ctx, "SELECT number FROM extensions WHERE number = ANY($1)", exts)
	if err != nil {
		return nil, err
	}
	taken, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	for _, n := range taken {
		b.takenExt[n] = true
	}
	return b, nil
}

// taken refuses a number in use in the store or earlier in the batch.
func (b *batchRefs) taken(ext string, seen map[string]bool) error {
	if b.takenExt[ext] || seen[ext] {
		return directory.ErrExtensionTaken
	}
	seen[ext] = true
	return nil
}

// roles returns the distinct ids, or the default role when there are none.
func (b *batchRefs) roles(ctx context.Context, tx pgx.Tx, rids []int64) ([]int64, error) {
	rids = ids(rids)
	if len(rids) == 0 {
		if b.defRole == 0 {
			id, err := defaultRole(ctx, tx)
			if err != nil {
				return nil, err
			}
			b.defRole = id
		}
		return []int64{b.defRole}, nil
	}
	for _, id := range rids {
		if !b.roleIDs[id] {
			return nil, directory.ErrUnknownRole
		}
	}
	return rids, nil
}

// groups returns the distinct gids, or the default group when there are
// none, after checking that each exists and that ext starts with its prefix.
func (b *batchRefs) groups(gids []int64, ext string) ([]int64, error) {
	gids = ids(gids)
	if len(gids) == 0 {
		if b.defGroup == 0 {
			return nil, fmt.Errorf("default group: %w", pgx.ErrNoRows)
		}
		gids = []int64{b.defGroup}
	}
	for _, id := range gids {
		g, ok := b.groupByID[id]
		if !ok {
			return nil, directory.ErrUnknownGroup
		}
		if err := directory.CheckPrefix(g, ext); err != nil {
			return nil, err
		}
	}
	return gids, nil
}
