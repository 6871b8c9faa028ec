package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

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
	u                directory.User
	nets             string
	created, updated sql.NullInt64
}

// userFields is the one list of the columns of users but its ID: inserts,
// updates and reads are all made from it, so a new field is one line here.
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
	{"state", func(u *directory.User) any { return string(u.State) }, func(r *userRow) any { return &r.u.State }},
	{"password_hash", func(u *directory.User) any { return u.PasswordHash }, func(r *userRow) any { return &r.u.PasswordHash }},
	{"sip_realm", func(u *directory.User) any { return u.SIP.Realm }, func(r *userRow) any { return &r.u.SIP.Realm }},
	{"sip_ha1_md5", func(u *directory.User) any { return u.SIP.HA1MD5 }, func(r *userRow) any { return &r.u.SIP.HA1MD5 }},
	{"sip_ha1_sha256", func(u *directory.User) any { return u.SIP.HA1SHA256 }, func(r *userRow) any { return &r.u.SIP.HA1SHA256 }},
	{"sip_max_devices", func(u *directory.User) any { return u.SIPMaxDevices }, func(r *userRow) any { return &r.u.SIPMaxDevices }},
	{"sip_allowed_nets", func(u *directory.User) any { return strings.Join(u.SIPAllowedNets, ",") },
		func(r *userRow) any { return &r.nets }},
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
	{"created_at", func(u *directory.User) any { return micros(u.CreatedAt) }, func(r *userRow) any { return &r.created }},
	{"updated_at", func(u *directory.User) any { return micros(u.UpdatedAt) }, func(r *userRow) any { return &r.updated }},
}

// userCols are the columns scanUser reads, from users u, roles and groups
// included; the SQL of inserts and updates of users.
var userCols, insertUserSQL, updateUserSQL = func() (string, string, string) {
	var read, cols, set []string
	for _, f := range userFields {
		cols = append(cols, f.col)
		set = append(set, f.col+" = ?")
		if f.dest != nil {
			read = append(read, "u."+f.col)
		}
	}
	return "u.id, " + strings.Join(read, ", ") + `,
		(SELECT group_concat(role_id) FROM user_roles WHERE user_id = u.id),
		(SELECT group_concat(group_id) FROM group_members WHERE user_id = u.id)`,
		"INSERT INTO users (" + strings.Join(cols, ", ") + ") VALUES (" +
			strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + ") RETURNING id",
		"UPDATE users SET " + strings.Join(set, ", ") + " WHERE id = ?"
}()

// userValues are the values of userFields for u.
func userValues(u *directory.User) []any {
	vals := make([]any, len(userFields))
	for i, f := range userFields {
		vals[i] = f.val(u)
	}
	return vals
}

type scanner interface{ Scan(dest ...any) error }

func scanUser(sc scanner) (*directory.User, error) {
	var r userRow
	var roles, groups sql.NullString
	dest := append(make([]any, 0, len(userFields)+5), &r.u.ID)
	for _, f := range userFields {
		if f.dest != nil {
			dest = append(dest, f.dest(&r))
		}
	}
	if err := sc.Scan(append(dest, &roles, &groups)...); err != nil {
		return nil, err
	}
	u := &r.u
	if r.nets != "" {
		u.SIPAllowedNets = strings.Split(r.nets, ",")
	}
	u.CreatedAt, u.UpdatedAt = fromMicros(r.created), fromMicros(r.updated)
	u.RoleIDs, u.GroupIDs = parseIDs(roles), parseIDs(groups)
	return u, nil
}

func scanUsers(rows *sql.Rows) ([]directory.User, error) {
	defer rows.Close()
	var us []directory.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		us = append(us, *u)
	}
	return us, rows.Err()
}

// getUser reads a user in any state.
func getUser(ctx context.Context, q querier, id int64) (*directory.User, error) {
	return scanUser(q.QueryRowContext(ctx, `SELECT `+userCols+` FROM users u WHERE u.id = ?`, id))
}

// CreateUser stores u with its roles (the default role when none), its
// groups (the default group when none) and its extension.
func (s *Store) CreateUser(ctx context.Context, u *directory.User) error {
	if err := u.CheckNew(); err != nil {
		return fmt.Errorf("create user %s: %w", u.Extension, err)
	}
	t := now()
	var id int64
	var roles, groups []int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		var err error
		if roles, err = resolveRoles(ctx, tx, u.RoleIDs); err != nil {
			return err
		}
		if groups, err = resolveGroups(ctx, tx, u.GroupIDs, u.Extension, nil); err != nil {
			return err
		}
		if id, err = insertUser(ctx, tx, u, t); err != nil {
			if isUnique(err) {
				return directory.ErrEmailTaken
			}
			return err
		}
		if err := insertUserExtension(ctx, tx, u.Extension, id); err != nil {
			return err
		}
		if err := insertUserRoles(ctx, tx, id, roles); err != nil {
			return err
		}
		if err := insertMemberships(ctx, tx, id, groups); err != nil {
			return err
		}
		return logChange(ctx, tx, directory.ChangeUser, id, "", "")
	})
	if err != nil {
		return fmt.Errorf("create user %s: %w", u.Extension, err)
	}
	u.ID, u.RoleIDs, u.GroupIDs, u.CreatedAt, u.UpdatedAt = id, roles, groups, t, t
	return nil
}

func insertUser(ctx context.Context, tx *sql.Tx, u *directory.User, t time.Time) (int64, error) {
	var id int64
	row := *u
	row.CreatedAt, row.UpdatedAt = t, t
	err := tx.QueryRowContext(ctx, insertUserSQL, userValues(&row)...).Scan(&id)
	return id, err
}

// insertUserExtension claims ext for a user; the primary key of extensions
// refuses a number that a user or group already has.
func insertUserExtension(ctx context.Context, tx *sql.Tx, ext string, userID int64) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO extensions (number, user_id) VALUES (?, ?)`, ext, userID)
	if isUnique(err) {
		return directory.ErrExtensionTaken
	}
	return err
}

func insertUserRoles(ctx context.Context, tx *sql.Tx, userID int64, roles []int64) error {
	for _, r := range roles {
		if _, err := tx.ExecContext(ctx, `INSERT INTO user_roles (user_id, role_id) VALUES (?, ?)`, userID, r); err != nil {
			return err
		}
	}
	return nil
}

func insertMemberships(ctx context.Context, tx *sql.Tx, userID int64, groups []int64) error {
	for _, g := range groups {
		if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO group_members (group_id, user_id) VALUES (?, ?)`, g, userID); err != nil {
			return err
		}
	}
	return nil
}

// resolveRoles returns ids sorted, or the default role when there are none,
// after checking that every role exists.
func resolveRoles(ctx context.Context, tx *sql.Tx, ids []int64) ([]int64, error) {
	ids = uniqueIDs(ids)
	if len(ids) == 0 {
		id, err := defaultRoleID(ctx, tx)
		if err != nil {
			return nil, err
		}
		return []int64{id}, nil
	}
	n, err := countRoles(ctx, tx, ids)
	if err != nil {
		return nil, err
	}
	if n != len(ids) {
		return nil, directory.ErrUnknownRole
	}
	return ids, nil
}

// defaultRoleID returns the role of the setting users.default_role, or
// Agent when the setting names no role.
func defaultRoleID(ctx context.Context, q querier) (int64, error) {
	var id int64
	err := q.QueryRowContext(ctx, `SELECT id FROM roles
		WHERE id = (SELECT CAST(value AS INTEGER) FROM settings WHERE key = ?)
		UNION ALL SELECT id FROM roles WHERE builtin = ?
		LIMIT 1`, directory.SettingDefaultRole, directory.BuiltinAgent).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("default role: %w", err)
	}
	return id, nil
}

func countRoles(ctx context.Context, q querier, ids []int64) (int, error) {
	in, args := inIDs("id", ids)
	var n int
	err := q.QueryRowContext(ctx, `SELECT count(*) FROM roles WHERE `+in, args...).Scan(&n)
	return n, err
}

// resolveGroups returns ids sorted, or the default group when there are
// none, after checking that every group exists and that ext starts with the
// prefix of each group the user is not already in (member).
func resolveGroups(ctx context.Context, tx *sql.Tx, ids []int64, ext string, member []int64) ([]int64, error) {
	ids = uniqueIDs(ids)
	if len(ids) == 0 {
		g, err := defaultGroup(ctx, tx)
		if err != nil {
			return nil, fmt.Errorf("default group: %w", err)
		}
		ids = []int64{g.ID}
	}
	gs, err := groupsByID(ctx, tx, ids)
	if err != nil {
		return nil, err
	}
	if len(gs) != len(ids) {
		return nil, directory.ErrUnknownGroup
	}
	for _, g := range gs {
		if containsID(member, g.ID) {
			continue // a prefix change does not re-check existing members
		}
		if err := directory.CheckPrefix(g, ext); err != nil {
			return nil, err
		}
	}
	return ids, nil
}

func containsID(ids []int64, id int64) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

// User returns a user in any state.
func (s *Store) User(ctx context.Context, id int64) (*directory.User, error) {
	u, err := getUser(ctx, s.rdb, id)
	if err != nil {
		return nil, fmt.Errorf("user %d: %w", id, s.fail(err))
	}
	return u, nil
}

// UserByEmail finds the user (not deleted) with the email.
func (s *Store) UserByEmail(ctx context.Context, email string) (*directory.User, error) {
	u, err := scanUser(s.rdb.QueryRowContext(ctx, `SELECT `+userCols+` FROM users u
		WHERE u.email = ? AND u.state <> 'deleted'`, directory.NormalizeEmail(email)))
	if err != nil {
		return nil, fmt.Errorf("user by email: %w", s.fail(err))
	}
	return u, nil
}

// UserByExtension finds the user (not deleted) with the extension.
func (s *Store) UserByExtension(ctx context.Context, ext string) (*directory.User, error) {
	u, err := scanUser(s.rdb.QueryRowContext(ctx, `SELECT `+userCols+` FROM extensions x
		JOIN users u ON u.id = x.user_id WHERE x.number = ?`, ext))
	if err != nil {
		return nil, fmt.Errorf("user by extension %s: %w", ext, s.fail(err))
	}
	return u, nil
}

// userWhere turns f into a WHERE clause over users u.
func userWhere(f directory.UserFilter) (string, []any) {
	states := f.States
	if len(states) == 0 {
		states = []directory.UserState{directory.UserActive, directory.UserBlocked}
	}
	var args []any
	for _, st := range states {
		args = append(args, string(st))
	}
	where := []string{"u.state IN (" + strings.TrimSuffix(strings.Repeat("?, ", len(states)), ", ") + ")"}
	if q := directory.Fold(f.Search); q != "" {
		where = append(where, "instr(u.search, ?) > 0")
		args = append(args, q)
	}
	if f.GroupID != 0 {
		where = append(where, "u.id IN (SELECT user_id FROM group_members WHERE group_id = ?)")
		args = append(args, f.GroupID)
	}
	if !f.Vis.All {
		in, ids := inIDs("u.id", f.Vis.UserIDs)
		where = append(where, in)
		args = append(args, ids...)
	}
	return strings.Join(where, " AND "), args
}

// Users lists the users f selects by name.
func (s *Store) Users(ctx context.Context, f directory.UserFilter) ([]directory.User, error) {
	where, args := userWhere(f)
	limit, offset := f.Page.Limit()
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+userCols+` FROM users u WHERE `+where+`
		ORDER BY u.search, u.id LIMIT ? OFFSET ?`, append(args, limit, offset)...)
	if err != nil {
		return nil, fmt.Errorf("users: %w", s.fail(err))
	}
	us, err := scanUsers(rows)
	if err != nil {
		return nil, fmt.Errorf("users: %w", s.fail(err))
	}
	return us, nil
}

// CountUsers counts the users f selects, ignoring its page.
func (s *Store) CountUsers(ctx context.Context, f directory.UserFilter) (int, error) {
	where, args := userWhere(f)
	var n int
	if err := s.rdb.QueryRowContext(ctx, `SELECT count(*) FROM users u WHERE `+where, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count users: %w", s.fail(err))
	}
	return n, nil
}

// SIPUsers returns every user that is not deleted.
func (s *Store) SIPUsers(ctx context.Context) ([]directory.User, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+userCols+` FROM users u WHERE u.state <> 'deleted' ORDER BY u.id`)
	if err != nil {
		return nil, fmt.Errorf("sip users: %w", s.fail(err))
	}
	us, err := scanUsers(rows)
	if err != nil {
		return nil, fmt.Errorf("sip users: %w", s.fail(err))
	}
	return us, nil
}

// Employees returns the users (not deleted) whose extension or mobile is number.
func (s *Store) Employees(ctx context.Context, number string) ([]directory.User, error) {
	if number == "" {
		return nil, nil
	}
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+userCols+` FROM users u
		WHERE u.state <> 'deleted'
		  AND (u.id IN (SELECT user_id FROM extensions WHERE number = ?) OR u.mobile = ?)
		ORDER BY u.id`, number, number)
	if err != nil {
		return nil, fmt.Errorf("employees: %w", s.fail(err))
	}
	us, err := scanUsers(rows)
	if err != nil {
		return nil, fmt.Errorf("employees: %w", s.fail(err))
	}
	return us, nil
}

// UpdateUser changes the fields p sets; a user that was deleted is not found.
func (s *Store) UpdateUser(ctx context.Context, id int64, p directory.UserPatch) (*directory.User, error) {
	err := p.Validate()
	if err == nil {
		err = p.CheckLists()
	}
	if err != nil {
		return nil, fmt.Errorf("update user %d: %w", id, err)
	}
	var u *directory.User
	err = s.write(ctx, func(tx *sql.Tx) error {
		cur, err := liveUser(ctx, tx, id)
		if err != nil {
			return err
		}
		p.Apply(cur)
		cur.UpdatedAt = now()
		if _, err := tx.ExecContext(ctx, updateUserSQL, append(userValues(cur), cur.ID)...); err != nil {
			if isUnique(err) {
				return directory.ErrEmailTaken
			}
			return err
		}
		if p.RoleIDs != nil {
			if err := replaceRoles(ctx, tx, cur, *p.RoleIDs); err != nil {
				return err
			}
		}
		if p.GroupIDs != nil {
			if err := replaceGroups(ctx, tx, cur, *p.GroupIDs); err != nil {
				return err
			}
		}
		if err := logChange(ctx, tx, directory.ChangeUser, id, "", ""); err != nil {
			return err
		}
		u, err = getUser(ctx, tx, id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("update user %d: %w", id, err)
	}
	return u, nil
}

// liveUser reads a user that is not deleted; a deleted one is not found.
func liveUser(ctx context.Context, q querier, id int64) (*directory.User, error) {
	u, err := getUser(ctx, q, id)
	if err != nil {
		return nil, err
	}
	if u.State == directory.UserDeleted {
		return nil, directory.ErrNotFound
	}
	return u, nil
}

// replaceRoles gives u the roles ids (UserPatch.CheckLists refused none); taking
// Owner away from the last active owner is refused.
func replaceRoles(ctx context.Context, tx *sql.Tx, u *directory.User, ids []int64) error {
	roles, err := resolveRoles(ctx, tx, ids)
	if err != nil {
		return err
	}
	owner, err := roleByBuiltin(ctx, tx, directory.BuiltinOwner)
	if err != nil {
		return err
	}
	if containsID(u.RoleIDs, owner.ID) && !containsID(roles, owner.ID) {
		if err := checkLastOwner(ctx, tx, u.ID); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM user_roles WHERE user_id = ?`, u.ID); err != nil {
		return err
	}
	return insertUserRoles(ctx, tx, u.ID, roles)
}

// replaceGroups puts u into the groups ids (UserPatch.CheckLists refused none).
func replaceGroups(ctx context.Context, tx *sql.Tx, u *directory.User, ids []int64) error {
	groups, err := resolveGroups(ctx, tx, ids, u.Extension, u.GroupIDs)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM group_members WHERE user_id = ?`, u.ID); err != nil {
		return err
	}
	return insertMemberships(ctx, tx, u.ID, groups)
}

// checkLastOwner refuses to take away the owner id unless another active
// owner remains. A user who is no owner passes.
func checkLastOwner(ctx context.Context, tx *sql.Tx, id int64) error {
	var owner, others bool
	err := tx.QueryRowContext(ctx, `SELECT
			EXISTS (SELECT 1 FROM user_roles ur JOIN roles r ON r.id = ur.role_id
				WHERE ur.user_id = ? AND r.builtin = 'owner'),
			EXISTS (SELECT 1 FROM users u JOIN user_roles ur ON ur.user_id = u.id JOIN roles r ON r.id = ur.role_id
				WHERE r.builtin = 'owner' AND u.state = 'active' AND u.id <> ?)`, id, id).Scan(&owner, &others)
	if err != nil {
		return fmt.Errorf("check last owner: %w", err)
	}
	if owner && !others {
		return directory.ErrLastOwner
	}
	return nil
}

// SetUserState blocks, unblocks or deletes a user.
func (s *Store) SetUserState(ctx context.Context, id int64, st directory.UserState) error {
	if !st.Valid() {
		return fmt.Errorf("set user %d state: %w", id, &directory.InvalidError{Field: "state", Rule: "must be active, blocked or deleted"})
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		var cur directory.UserState
		var ext string
		err := tx.QueryRowContext(ctx, `SELECT state, extension FROM users WHERE id = ?`, id).Scan(&cur, &ext)
		if err != nil {
			return err
		}
		if cur == directory.UserDeleted {
			return directory.ErrNotFound
		}
		if cur == st {
			return nil
		}
		if st != directory.UserActive {
			if err := checkLastOwner(ctx, tx, id); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users SET state = ?, updated_at = ? WHERE id = ?`,
			string(st), now().UnixMicro(), id); err != nil {
			return err
		}
		if st == directory.UserDeleted {
			if err := deleteUserNumber(ctx, tx, id, ext); err != nil {
				return err
			}
		}
		return logChange(ctx, tx, directory.ChangeUser, id, "", "")
	})
	if err != nil {
		return fmt.Errorf("set user %d %s: %w", id, st, err)
	}
	return nil
}

// deleteUserNumber frees the extension of a deleted user and drops its
// registrations.
func deleteUserNumber(ctx context.Context, tx *sql.Tx, id int64, ext string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM extensions WHERE user_id = ?`, id); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM bindings WHERE extension = ?`, ext); err != nil {
		return err
	}
	return logChange(ctx, tx, directory.ChangeBinding, 0, ext, "")
}
