package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/switchboard-pbx/switchboard/directory"
)

// A user's secrets, permission overrides and access: what the web and
// SIP sides read to authenticate and decide.

// SetPasswordHash replaces the web password hash of a user not deleted.
func (s *Store) SetPasswordHash(ctx context.Context, id int64, hash string) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = ?, updated_at = ?
			WHERE id = ? AND state <> 'deleted'`, hash, now().UnixMicro(), id)
		if err := oneRow(res, err); err != nil {
			return err
		}
		return logChange(ctx, tx, directory.ChangeUser, id, "", "")
	})
	if err != nil {
		return fmt.Errorf("set password of user %d: %w", id, err)
	}
	return nil
}

// SetSIPSecret replaces the extension password of a user not deleted.
func (s *Store) SetSIPSecret(ctx context.Context, id int64, sec directory.SIPSecret) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE users SET sip_realm = ?, sip_ha1_md5 = ?, sip_ha1_sha256 = ?,
				updated_at = ?
			WHERE id = ? AND state <> 'deleted'`, sec.Realm, sec.HA1MD5, sec.HA1SHA256, now().UnixMicro(), id)
		if err := oneRow(res, err); err != nil {
			return err
		}
		return logChange(ctx, tx, directory.ChangeUser, id, "", "")
	})
	if err != nil {
		return fmt.Errorf("set sip secret of user %d: %w", id, err)
	}
	return nil
}

// oneRow turns "no row changed" into ErrNotFound.
func oneRow(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return directory.ErrNotFound
	}
	return nil
}

// SetOverrides replaces the permission overrides of a user not deleted.
func (s *Store) SetOverrides(ctx context.Context, id int64, perms map[string]string) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		if _, err := liveUser(ctx, tx, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM user_perms WHERE user_id = ?`, id); err != nil {
			return err
		}
		if err := putOverrides(ctx, tx, id, perms); err != nil {
			return err
		}
		return logChange(ctx, tx, directory.ChangeUser, id, "", "")
	})
	if err != nil {
		return fmt.Errorf("set overrides of user %d: %w", id, err)
	}
	return nil
}

// putOverrides writes perms over the user's overrides, keeping the others.
func putOverrides(ctx context.Context, tx *sql.Tx, id int64, perms map[string]string) error {
	for perm, scope := range perms {
		_, err := tx.ExecContext(ctx, `INSERT INTO user_perms (user_id, perm, scope) VALUES (?, ?, ?)
			ON CONFLICT (user_id, perm) DO UPDATE SET scope = excluded.scope`, id, perm, scope)
		if err != nil {
			return err
		}
	}
	return nil
}

// Access gathers, from one snapshot, what authz needs to decide for a user.
func (s *Store) Access(ctx context.Context, id int64) (*directory.Access, error) {
	tx, err := s.rdb.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("access of user %d: %w", id, s.fail(err))
	}
	defer tx.Rollback()
	a, err := access(ctx, tx, id)
	if err != nil {
		return nil, fmt.Errorf("access of user %d: %w", id, s.fail(err))
	}
	return a, nil
}

func access(ctx context.Context, tx *sql.Tx, id int64) (*directory.Access, error) {
	u, err := getUser(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	a := &directory.Access{User: *u}
	if a.Roles, err = userRoles(ctx, tx, id); err != nil {
		return nil, err
	}
	if a.Overrides, err = overrides(ctx, tx, id); err != nil {
		return nil, err
	}
	if a.Department, err = department(ctx, tx, id); err != nil {
		return nil, err
	}
	return a, nil
}

// userRoles returns the roles a user holds, with their permissions.
func userRoles(ctx context.Context, q querier, id int64) ([]directory.Role, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+roleCols+`, p.perm, p.scope
		FROM user_roles ur JOIN roles r ON r.id = ur.role_id
		LEFT JOIN role_perms p ON p.role_id = r.id
		WHERE ur.user_id = ? ORDER BY r.id`, id)
	if err != nil {
		return nil, err
	}
	return scanRolesWithPerms(rows)
}

func overrides(ctx context.Context, q querier, id int64) (map[string]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT perm, scope FROM user_perms WHERE user_id = ?`, id)
	if err != nil {
		return nil, err
	}
	return scanPerms(rows)
}

// department returns, sorted, the user and every user (deleted ones too,
// for history) in a group the user is in or in one of its subgroups.
func department(ctx context.Context, q querier, id int64) ([]int64, error) {
	rows, err := q.QueryContext(ctx, `WITH RECURSIVE tree (id) AS (
			SELECT group_id FROM group_members WHERE user_id = ?
			UNION
			SELECT g.id FROM groups g JOIN tree t ON g.parent_id = t.id
		)
		SELECT user_id FROM group_members WHERE group_id IN (SELECT id FROM tree)
		UNION SELECT ?
		ORDER BY 1`, id, id)
	if err != nil {
		return nil, err
	}
	return scanIDs(rows)
}

// HasOwner reports whether an owner that is not deleted exists.
func (s *Store) HasOwner(ctx context.Context) (bool, error) {
	var has bool
	err := s.rdb.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM users u
		JOIN user_roles ur ON ur.user_id = u.id JOIN roles r ON r.id = ur.role_id
		WHERE r.builtin = 'owner' AND u.state <> 'deleted')`).Scan(&has)
	if err != nil {
		return false, fmt.Errorf("has owner: %w", s.fail(err))
	}
	return has, nil
}

// sipAccountSQL is SIPAccount's query, prepared once: it runs at every
// authenticated REGISTER and INVITE.
const sipAccountSQL = `SELECT u.id, u.state, u.sip_realm, u.sip_ha1_md5, u.sip_ha1_sha256
	FROM extensions x JOIN users u ON u.id = x.user_id WHERE x.number = ? AND u.state <> 'deleted'`

// SIPAccount returns who holds ext, in which state, with which secret.
func (s *Store) SIPAccount(ctx context.Context, ext string) (*directory.SIPAccount, error) {
	var a directory.SIPAccount
	err := s.sipAccount.QueryRowContext(ctx, ext).Scan(&a.UserID, &a.State, &a.SIP.Realm, &a.SIP.HA1MD5, &a.SIP.HA1SHA256)
	if err != nil {
		return nil, fmt.Errorf("sip account %s: %w", ext, s.fail(err))
	}
	return &a, nil
}
