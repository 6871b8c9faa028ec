package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/switchboard-pbx/switchboard/directory"
)

// userField is one column of users: what a write stores from a
// directory.User and where a read scans it.
type userField struct {
	col  string
	val  func(u *directory.User) any
	dest func(r *userRow) any // nil: written, never read back
}

// userRow is a user as scanned, with the columns that need converting.
type userRow struct {
	u     directory.User
	state string
}

// userFields is the one list of the columns of users but its ID and times
// (which the database sets): inserts, updates and reads are all made from
// it, so a new field is one line here.
var userFields = []userField{
	{"name", func(u *directory.User) any { return u.Name }, func(r *userRow) any { return &r.u.Name }},
	{"email", func(u *directory.User) any { return u.Email }, func(r *userRow) any { return &r.u.Email }},
	{"extension", func(u *directory.User) any { return u.Extension }, func(r *userRow) any { return &r.u.Extension }},
	{"mobile", func(u *directory.User) any { return u.Mobile }, func(r *userRow) any { return &r.u.Mobile }},
	{"caller_id", func(u *directory.User) any { return u.CallerID }, func(r *userRow) any { return &r.u.CallerID }},
	{"hide_number", func(u *directory.User) any { return u.HideNumber }, func(r *userRow) any { return &r.u.HideNumber }},
	{"notes", func(u *directory.User) any { return u.Notes }, func(r *userRow) any { return &r.u.Notes }},
	{"language", func(u *directory.User) any { return u.Language }, func(r *userRow) any { return &r.u.Language }},
	{"time_zone", func(u *directory.User) any { return u.TimeZone }, func(r *userRow) any { return &r.u.TimeZone }},
	{"state", func(u *directory.User) any { return string(u.State) }, func(r *userRow) any { return &r.state }},
	{"password_hash", func(u *directory.User) any { return u.PasswordHash }, func(r *userRow) any { return &r.u.PasswordHash }},
	{"sip_realm", func(u *directory.User) any { return u.SIP.Realm }, func(r *userRow) any { return &r.u.SIP.Realm }},
	{"sip_ha1_md5", func(u *directory.User) any { return u.SIP.HA1MD5 }, func(r *userRow) any { return &r.u.SIP.HA1MD5 }},
	{"sip_ha1_sha256", func(u *directory.User) any { return u.SIP.HA1SHA256 }, func(r *userRow) any { return &r.u.SIP.HA1SHA256 }},
	{"sip_max_devices", func(u *directory.User) any { return u.SIPMaxDevices }, func(r *userRow) any { return &r.u.SIPMaxDevices }},
	{"sip_allowed_nets", func(u *directory.User) any { return nets(u.SIPAllowedNets) },
		func(r *userRow) any { return &r.u.SIPAllowedNets }},
	{"dnd", func(u *directory.User) any { return u.Forward.DND }, func(r *userRow) any { return &r.u.Forward.DND }},
	{"forward_always", func(u *directory.User) any { return u.Forward.Always }, func(r *userRow) any { return &r.u.Forward.Always }},
	{"forward_busy", func(u *directory.User) any { return u.Forward.Busy }, func(r *userRow) any { return &r.u.Forward.Busy }},
	{"forward_no_answer", func(u *directory.User) any { return u.Forward.NoAnswer },
		func(r *userRow) any { return &r.u.Forward.NoAnswer }},
	{"forward_offline", func(u *directory.User) any { return u.Forward.Offline },
		func(r *userRow) any { return &r.u.Forward.Offline }},
	{"forward_ring_seconds", func(u *directory.User) any { return u.Forward.RingSeconds },
		func(r *userRow) any { return &r.u.Forward.RingSeconds }},
	{"search", func(u *directory.User) any { return directory.UserSearchText(u) }, nil},
}

// userColumns are read by scanUser, from users aliased u; the other three
// are the SQL of inserting a user (arguments userValues), of updating one
// ($1 the ID, then userValues) and the placeholders of userValues in an
// insert.
var userColumns, insertUserSQL, updateUserSQL = func() (string, string, string) {
	var read, cols, vals, set []string
	for i, f := range userFields {
		cols = append(cols, f.col)
		vals = append(vals, "$"+strconv.Itoa(i+1))
		set = append(set, f.col+" = $"+strconv.Itoa(i+2))
		if f.dest != nil {
			read = append(read, "u."+f.col)
		}
	}
	return "u.id, " + strings.Join(read, ", ") + `, u.created_at, u.updated_at,
	ARRAY(SELECT role_id FROM user_roles WHERE user_id = u.id ORDER BY role_id),
	ARRAY(SELECT group_id FROM group_members WHERE user_id = u.id ORDER BY group_id)`,
		"INSERT INTO users (" + strings.Join(cols, ", ") + ") VALUES (" + strings.Join(vals, ", ") +
			") RETURNING id, created_at, updated_at",
		"UPDATE users SET " + strings.Join(set, ", ") + ", updated_at = now() WHERE id = $1"
}()

// userValues are the values of userFields for u.
func userValues(u *directory.User) []any {
	vals := make([]any, len(userFields))
	for i, f := range userFields {
		vals[i] = f.val(u)
	}
	return vals
}

// userArg returns the placeholder of column col among userValues.
func userArg(col string) string {
	for i, f := range userFields {
		if f.col == col {
			return "$" + strconv.Itoa(i+1)
		}
	}
	panic("postgres: no users column " + col) // a typo in this package, found by every test
}

func scanUser(row pgx.Row) (*directory.User, error) {
	var r userRow
	dest := append(make([]any, 0, len(userFields)+5), &r.u.ID)
	for _, f := range userFields {
		if f.dest != nil {
			dest = append(dest, f.dest(&r))
		}
	}
	if err := row.Scan(append(dest, &r.u.CreatedAt, &r.u.UpdatedAt, &r.u.RoleIDs, &r.u.GroupIDs)...); err != nil {
		return nil, err
	}
	u := &r.u
	u.State = directory.UserState(r.state)
	u.CreatedAt, u.UpdatedAt = u.CreatedAt.UTC(), u.UpdatedAt.UTC()
	u.SIPAllowedNets = nilIfEmpty(u.SIPAllowedNets)
	u.RoleIDs, u.GroupIDs = nilIfEmpty(u.RoleIDs), nilIfEmpty(u.GroupIDs)
	return u, nil
}

func (s *Store) queryUsers(ctx context.Context, sql string, args ...any) ([]directory.User, error) {
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (directory.User, error) {
		u, err := scanUser(r)
		if err != nil {
			return directory.User{}, err
		}
		return *u, nil
	})
	return nilIfEmpty(out), err
}

// CreateUser stores u and sets its ID, times, roles and groups. Empty
// RoleIDs get the role of setting users.default_role and empty GroupIDs the
// default group; every group's prefix is checked against the extension.
func (s *Store) CreateUser(ctx context.Context, u *directory.User) error {
	if err := u.CheckNew(); err != nil {
		return fmt.Errorf("create user %s: %w", u.Extension, err)
	}
	roles, groups := ids(u.RoleIDs), ids(u.GroupIDs)
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if len(roles) == 0 {
			id, err := defaultRole(ctx, tx)
			if err != nil {
				return err
			}
			roles = []int64{id}
		}
		if len(groups) == 0 {
			var id int64
			if err := tx.QueryRow(ctx, "SELECT id FROM groups WHERE is_default").Scan(&id); err != nil {
				return fmt.Errorf("default group: %w", err)
			}
			groups = []int64{id}
		}
		if err := checkGroups(ctx, tx, groups, u.Extension); err != nil {
			return err
		}
		// The extensions table decides; this only makes a taken extension
		// win over a taken email when both are (the users row, and with it
		// the email index, is written first).
		var taken bool
		if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM extensions WHERE number = $1)",
			u.Extension).Scan(&taken); err != nil {
			return err
		}
		if taken {
			return directory.ErrExtensionTaken
		}
		err := tx.QueryRow(ctx, insertUserSQL, userValues(u)...).Scan(&u.ID, &u.CreatedAt, &u.UpdatedAt)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "INSERT INTO extensions (number, user_id) VALUES ($1, $2)", u.Extension, u.ID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "INSERT INTO user_roles (user_id, role_id) SELECT $1, unnest($2::int8[])",
			u.ID, roles); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "INSERT INTO group_members (group_id, user_id) SELECT unnest($2::int8[]), $1",
			u.ID, groups); err != nil {
			return err
		}
		return logChanges(ctx, tx, userChange(u.ID))
	})
	if err != nil {
		u.ID = 0
		return mapErr("create user", err)
	}
	u.CreatedAt, u.UpdatedAt = u.CreatedAt.UTC(), u.UpdatedAt.UTC()
	u.RoleIDs, u.GroupIDs = sorted(roles), sorted(groups)
	return nil
}

func sorted(s []int64) []int64 {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func nets(n []string) []string {
	if n == nil {
		return []string{}
	}
	return n
}

// defaultRole reads setting users.default_role.
func defaultRole(ctx context.Context, tx pgx.Tx) (int64, error) {
	var v string
	err := tx.QueryRow(ctx, "SELECT value FROM settings WHERE key = $1", directory.SettingDefaultRole).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, &directory.InvalidError{Field: "roles", Rule: "no default role is set"}
	}
	if err != nil {
		return 0, err
	}
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, &directory.InvalidError{Field: "roles", Rule: "no default role is set"}
	}
	return id, nil
}

// checkGroups checks that every group of gids exists and that ext starts
// with its prefix. It locks the groups against deletion until commit.
func checkGroups(ctx context.Context, tx pgx.Tx, gids []int64, ext string) error {
	if len(gids) == 0 {
		return nil
	}
	rows, err := tx.Query(ctx, "SELECT "+groupColumns+" FROM groups WHERE id = ANY($1) FOR KEY SHARE", gids)
	if err != nil {
		return err
	}
	gs, err := pgx.CollectRows(rows, scanGroupRow)
	if err != nil {
		return err
	}
	if len(gs) != len(gids) {
		return directory.ErrUnknownGroup
	}
	for _, g := range gs {
		if err := directory.CheckPrefix(g, ext); err != nil {
			return err
		}
	}
	return nil
}

// User returns a user in any state.
func (s *Store) User(ctx context.Context, id int64) (*directory.User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx, "SELECT "+userColumns+" FROM users u WHERE u.id = $1", id))
	return u, mapErr(fmt.Sprintf("user %d", id), err)
}

// UserByEmail finds a user that is not deleted by email (compared
// normalized).
func (s *Store) UserByEmail(ctx context.Context, email string) (*directory.User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx, "SELECT "+userColumns+
		" FROM users u WHERE u.email = $1 AND u.state <> 'deleted'", directory.NormalizeEmail(email)))
	return u, mapErr("user by email", err)
}

// UserByExtension finds the user that is not deleted holding ext.
func (s *Store) UserByExtension(ctx context.Context, ext string) (*directory.User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx, "SELECT "+userColumns+
		" FROM extensions e JOIN users u ON u.id = e.user_id WHERE e.number = $1", ext))
	return u, mapErr("user by extension "+strconv.Quote(ext), err)
}

// userWhere turns a filter into conditions on users u.
func userWhere(f directory.UserFilter) *where {
	w := &where{}
	states := []string{string(directory.UserActive), string(directory.UserBlocked)}
	if len(f.States) > 0 {
		states = states[:0]
		for _, st := range f.States {
			states = append(states, string(st))
		}
	}
	w.add("u.state = ANY(" + w.arg(states) + ")")
	if q := directory.Fold(f.Search); q != "" {
		w.add("strpos(u.search, " + w.arg(q) + ") > 0")
	}
	if f.GroupID != 0 {
		w.add("EXISTS (SELECT 1 FROM group_members m WHERE m.user_id = u.id AND m.group_id = " + w.arg(f.GroupID) + ")")
	}
	if !f.Vis.All {
		w.add("u.id = ANY(" + w.arg(ids(f.Vis.UserIDs)) + ")")
	}
	return w
}

// Users lists users by name, then ID.
func (s *Store) Users(ctx context.Context, f directory.UserFilter) ([]directory.User, error) {
	w := userWhere(f)
	limit, offset := f.Page.Limit()
	q := "SELECT " + userColumns + " FROM users u" + w.sql() +
		" ORDER BY u.search, u.id LIMIT " + w.arg(limit) + " OFFSET " + w.arg(offset)
	out, err := s.queryUsers(ctx, q, w.args...)
	return out, mapErr("users", err)
}

// CountUsers counts what Users would list on all pages.
func (s *Store) CountUsers(ctx context.Context, f directory.UserFilter) (int, error) {
	w := userWhere(f)
	var n int
	err := s.pool.QueryRow(ctx, "SELECT count(*) FROM users u"+w.sql(), w.args...).Scan(&n)
	return n, mapErr("count users", err)
}

// SIPUsers returns every user that is not deleted, by extension.
func (s *Store) SIPUsers(ctx context.Context) ([]directory.User, error) {
	out, err := s.queryUsers(ctx, "SELECT "+userColumns+
		" FROM users u WHERE u.state <> 'deleted' ORDER BY u.id")
	return out, mapErr("sip users", err)
}

// Employees returns the users that are not deleted whose extension or mobile
// number is number.
func (s *Store) Employees(ctx context.Context, number string) ([]directory.User, error) {
	if number == "" {
		return nil, nil
	}
	out, err := s.queryUsers(ctx, "SELECT "+userColumns+
		" FROM users u WHERE u.state <> 'deleted' AND (u.extension = $1 OR u.mobile = $1) ORDER BY u.id", number)
	return out, mapErr("employees", err)
}

// lockUser locks the row of a user that is not deleted until commit and
// returns its state and extension.
func lockUser(ctx context.Context, tx pgx.Tx, id int64) (directory.UserState, string, error) {
	var state, ext string
	err := tx.QueryRow(ctx, "SELECT state, extension FROM users WHERE id = $1 FOR UPDATE", id).Scan(&state, &ext)
	if err == nil && state == string(directory.UserDeleted) {
		err = pgx.ErrNoRows
	}
	return directory.UserState(state), ext, err
}

// isOwner reports whether the user holds the Owner role.
func isOwner(ctx context.Context, tx pgx.Tx, id int64) (bool, error) {
	var ok bool
	err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM user_roles ur JOIN roles r ON r.id = ur.role_id
		WHERE ur.user_id = $1 AND r.builtin = 'owner')`, id).Scan(&ok)
	return ok, err
}

// checkLastOwner returns ErrLastOwner unless an active owner other than id
// remains. Every change that can take an owner away (blocking, deleting,
// demoting) first locks the Owner role's row, so such changes run one at a
// time across all nodes; the count that follows is a new statement, which in
// read committed sees every change committed before the lock was granted.
// Two transactions blocking the last two owners at once cannot both pass.
// (FOR NO KEY UPDATE leaves the row's key free: inserting into user_roles,
// whose foreign key check takes FOR KEY SHARE, does not wait on it.)
func checkLastOwner(ctx context.Context, tx pgx.Tx, id int64) error {
	if _, err := tx.Exec(ctx, "SELECT id FROM roles WHERE builtin = 'owner' FOR NO KEY UPDATE"); err != nil {
		return err
	}
	var others bool
	err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM users u
		JOIN user_roles ur ON ur.user_id = u.id JOIN roles r ON r.id = ur.role_id
		WHERE r.builtin = 'owner' AND u.state = 'active' AND u.id <> $1)`, id).Scan(&others)
	if err != nil {
		return err
	}
	if !others {
		return directory.ErrLastOwner
	}
	return nil
}

// UpdateUser changes the fields p sets. Removing the Owner role from the
// last active owner fails with ErrLastOwner; groups the user is newly put in
// must have a prefix the extension starts with.
func (s *Store) UpdateUser(ctx context.Context, id int64, p directory.UserPatch) (*directory.User, error) {
	op := fmt.Sprintf("update user %d", id)
	err := p.Validate()
	if err == nil {
		err = p.CheckLists()
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	var u *directory.User
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		_, ext, err := lockUser(ctx, tx, id)
		if err != nil {
			return err
		}
		cur, err := scanUser(tx.QueryRow(ctx, "SELECT "+userColumns+" FROM users u WHERE u.id = $1", id))
		if err != nil {
			return err
		}
		p.Apply(cur)
		if _, err := tx.Exec(ctx, updateUserSQL, append([]any{id}, userValues(cur)...)...); err != nil {
			return err
		}
		if p.RoleIDs != nil {
			if err := setUserRoles(ctx, tx, id, ids(*p.RoleIDs)); err != nil {
				return err
			}
		}
		if p.GroupIDs != nil {
			if err := setUserGroups(ctx, tx, id, ext, ids(*p.GroupIDs)); err != nil {
				return err
			}
		}
		if err := logChanges(ctx, tx, userChange(id)); err != nil {
			return err
		}
		u, err = scanUser(tx.QueryRow(ctx, "SELECT "+userColumns+" FROM users u WHERE u.id = $1", id))
		return err
	})
	if err != nil {
		return nil, mapErr(op, err)
	}
	return u, nil
}

func setUserRoles(ctx context.Context, tx pgx.Tx, id int64, roles []int64) error {
	var losesOwner bool
	err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM user_roles ur JOIN roles r ON r.id = ur.role_id
		WHERE ur.user_id = $1 AND r.builtin = 'owner' AND NOT r.id = ANY($2))`, id, roles).Scan(&losesOwner)
	if err != nil {
		return err
	}
	if losesOwner {
		if err := checkLastOwner(ctx, tx, id); err != nil {
			return err
		}
	}
	if _, err := tx.Exec(ctx, "DELETE FROM user_roles WHERE user_id = $1 AND NOT role_id = ANY($2)", id, roles); err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO user_roles (user_id, role_id) SELECT $1, unnest($2::int8[])
		ON CONFLICT DO NOTHING`, id, roles)
	return err
}

func setUserGroups(ctx context.Context, tx pgx.Tx, id int64, ext string, groups []int64) error {
	// Only groups the user is newly put in are checked: a prefix change
	// does not re-check existing members, so neither does saving them.
	var added []int64
	err := tx.QueryRow(ctx, `SELECT ARRAY(SELECT g FROM unnest($2::int8[]) g
		WHERE NOT EXISTS (SELECT 1 FROM group_members m WHERE m.user_id = $1 AND m.group_id = g))`,
		id, groups).Scan(&added)
	if err != nil {
		return err
	}
	if err := checkGroups(ctx, tx, added, ext); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, "DELETE FROM group_members WHERE user_id = $1 AND NOT group_id = ANY($2)", id, groups); err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO group_members (group_id, user_id) SELECT unnest($2::int8[]), $1
		ON CONFLICT DO NOTHING`, id, added)
	return err
}

// SetUserState blocks, unblocks or deletes a user. Deleting frees the
// extension and the email and drops the user's bindings, in one
// transaction; roles and groups stay for history. A deleted user is gone
// for every state change (ErrNotFound). The last active owner can be
// neither blocked nor deleted.
func (s *Store) SetUserState(ctx context.Context, id int64, st directory.UserState) error {
	op := fmt.Sprintf("set user %d state %s", id, st)
	if !st.Valid() {
		return fmt.Errorf("%s: %w", op, &directory.InvalidError{Field: "state", Rule: "must be active, blocked or deleted"})
	}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		cur, ext, err := lockUser(ctx, tx, id)
		if err != nil {
			return err
		}
		if cur == st {
			return nil
		}
		if st != directory.UserActive {
			owner, err := isOwner(ctx, tx, id)
			if err != nil {
				return err
			}
			if owner {
				if err := checkLastOwner(ctx, tx, id); err != nil {
					return err
				}
			}
		}
		if _, err := tx.Exec(ctx, "UPDATE users SET state = $2, updated_at = now() WHERE id = $1", id, string(st)); err != nil {
			return err
		}
		if st != directory.UserDeleted {
			return logChanges(ctx, tx, userChange(id))
		}
		if _, err := tx.Exec(ctx, "DELETE FROM extensions WHERE user_id = $1", id); err != nil {
			return err
		}
		if ext != "" {
			if _, err := tx.Exec(ctx, "DELETE FROM bindings WHERE extension = $1", ext); err != nil {
				return err
			}
		}
		return logChanges(ctx, tx, userChange(id), directory.Change{Kind: directory.ChangeBinding, Key: ext})
	})
	return mapErr(op, err)
}

// updateLiveUser runs an UPDATE of one user that is not deleted and logs
// the change.
func (s *Store) updateLiveUser(ctx context.Context, op string, id int64, sql string, args ...any) error {
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, sql, append([]any{id}, args...)...)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return pgx.ErrNoRows
		}
		return logChanges(ctx, tx, userChange(id))
	})
	return mapErr(op, err)
}
