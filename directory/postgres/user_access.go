package postgres

import (
	"context"
	"fmt"
	"slices"
	"strconv"

	"github.com/jackc/pgx/v5"

	"github.com/switchboard-pbx/switchboard/directory"
)

// A user's secrets, permission overrides and access: what the web and
// SIP sides read to authenticate and decide.

// SetPasswordHash replaces the web password hash.
func (s *Store) SetPasswordHash(ctx context.Context, id int64, hash string) error {
	return s.updateLiveUser(ctx, fmt.Sprintf("set password of user %d", id), id,
		"UPDATE users SET password_hash = $2, updated_at = now() WHERE id = $1 AND state <> 'deleted'", hash)
}

// SetSIPSecret replaces the extension password's digest hashes.
func (s *Store) SetSIPSecret(ctx context.Context, id int64, sec directory.SIPSecret) error {
	return s.updateLiveUser(ctx, fmt.Sprintf("set sip secret of user %d", id), id,
		`UPDATE users SET sip_realm = $2, sip_ha1_md5 = $3, sip_ha1_sha256 = $4, updated_at = now()
		WHERE id = $1 AND state <> 'deleted'`, sec.Realm, sec.HA1MD5, sec.HA1SHA256)
}

// SetOverrides replaces the user's permission overrides.
func (s *Store) SetOverrides(ctx context.Context, id int64, perms map[string]string) error {
	keys, values := permArrays(perms)
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, _, err := lockUser(ctx, tx, id); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "DELETE FROM user_perms WHERE user_id = $1", id); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO user_perms (user_id, perm, scope)
			SELECT $1, p, s FROM unnest($2::text[], $3::text[]) AS x (p, s)`, id, keys, values); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "UPDATE users SET updated_at = now() WHERE id = $1", id); err != nil {
			return err
		}
		return logChanges(ctx, tx, userChange(id))
	})
	return mapErr(fmt.Sprintf("set overrides of user %d", id), err)
}

// permArrays splits a permission map into two parallel arrays, sorted by
// permission.
func permArrays(perms map[string]string) (keys, values []string) {
	keys = make([]string, 0, len(perms))
	for k := range perms {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	values = make([]string, 0, len(perms))
	for _, k := range keys {
		values = append(values, perms[k])
	}
	return keys, values
}

func permMap(keys, values []string) map[string]string {
	m := make(map[string]string, len(keys))
	for i, k := range keys {
		if i < len(values) {
			m[k] = values[i]
		}
	}
	return m
}

// Access gathers the user, their roles with permissions, their overrides
// and their department, from one snapshot.
func (s *Store) Access(ctx context.Context, id int64) (*directory.Access, error) {
	var a directory.Access
	err := s.inSnapshot(ctx, func(tx pgx.Tx) error {
		u, err := scanUser(tx.QueryRow(ctx, "SELECT "+userColumns+" FROM users u WHERE u.id = $1", id))
		if err != nil {
			return err
		}
		a.User = *u
		rows, err := tx.Query(ctx, "SELECT "+roleColumns+` FROM roles r
			WHERE r.id IN (SELECT role_id FROM user_roles WHERE user_id = $1) ORDER BY r.id`, id)
		if err != nil {
			return err
		}
		if a.Roles, err = pgx.CollectRows(rows, scanRoleRow); err != nil {
			return err
		}
		a.Roles = nilIfEmpty(a.Roles)
		var keys, values []string
		err = tx.QueryRow(ctx, `SELECT ARRAY(SELECT perm FROM user_perms WHERE user_id = $1 ORDER BY perm),
			ARRAY(SELECT scope FROM user_perms WHERE user_id = $1 ORDER BY perm)`, id).Scan(&keys, &values)
		if err != nil {
			return err
		}
		a.Overrides = permMap(keys, values)
		// Everyone in a group the user is in or in any group below it,
		// deleted users too (their calls stay in the history).
		return tx.QueryRow(ctx, `WITH RECURSIVE g (id) AS (
				SELECT group_id FROM group_members WHERE user_id = $1
				UNION
				SELECT c.id FROM groups c JOIN g ON c.parent_id = g.id
			)
			SELECT ARRAY(SELECT user_id FROM group_members WHERE group_id IN (SELECT id FROM g)
				UNION SELECT $1::int8 ORDER BY 1)`, id).Scan(&a.Department)
	})
	if err != nil {
		return nil, mapErr(fmt.Sprintf("access of user %d", id), err)
	}
	return &a, nil
}

// HasOwner reports whether an owner that is not deleted exists.
func (s *Store) HasOwner(ctx context.Context) (bool, error) {
	var ok bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM users u
		JOIN user_roles ur ON ur.user_id = u.id JOIN roles r ON r.id = ur.role_id
		WHERE r.builtin = 'owner' AND u.state <> 'deleted')`).Scan(&ok)
	return ok, mapErr("has owner", err)
}

// SIPAccount returns who holds ext, in which state, with which secret:
// one small query (pgx caches its prepared statement).
func (s *Store) SIPAccount(ctx context.Context, ext string) (*directory.SIPAccount, error) {
	var a directory.SIPAccount
	err := s.pool.QueryRow(ctx, `SELECT u.id, u.state, u.sip_realm, u.sip_ha1_md5, u.sip_ha1_sha256
		FROM extensions e JOIN users u ON u.id = e.user_id WHERE e.number = $1 AND u.state <> 'deleted'`, ext).
		Scan(&a.UserID, &a.State, &a.SIP.Realm, &a.SIP.HA1MD5, &a.SIP.HA1SHA256)
	if err != nil {
		return nil, mapErr("sip account "+strconv.Quote(ext), err)
	}
	return &a, nil
}
