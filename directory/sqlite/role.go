package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"maps"

	"github.com/switchboard-pbx/switchboard/directory"
)

const roleCols = `r.id, r.name, r.builtin, r.created_at`

var errRoleName = directory.Conflict("name", "already in use")

// scanRolesWithPerms reads rows of roleCols followed by perm and scope (NULL
// for a role without permissions), ordered by role.
func scanRolesWithPerms(rows *sql.Rows) ([]directory.Role, error) {
	defer rows.Close()
	var rs []directory.Role
	for rows.Next() {
		var r directory.Role
		var builtin, perm, scope sql.NullString
		var created sql.NullInt64
		if err := rows.Scan(&r.ID, &r.Name, &builtin, &created, &perm, &scope); err != nil {
			return nil, err
		}
		if len(rs) == 0 || rs[len(rs)-1].ID != r.ID {
			r.Builtin, r.CreatedAt, r.Perms = builtin.String, fromMicros(created), map[string]string{}
			rs = append(rs, r)
		}
		if perm.Valid {
			rs[len(rs)-1].Perms[perm.String] = scope.String
		}
	}
	return rs, rows.Err()
}

// scanPerms reads perm, scope rows into a map (empty, not nil, when none).
func scanPerms(rows *sql.Rows) (map[string]string, error) {
	defer rows.Close()
	perms := map[string]string{}
	for rows.Next() {
		var perm, scope string
		if err := rows.Scan(&perm, &scope); err != nil {
			return nil, err
		}
		perms[perm] = scope
	}
	return perms, rows.Err()
}

func oneRole(rows *sql.Rows, err error) (*directory.Role, error) {
	if err != nil {
		return nil, err
	}
	rs, err := scanRolesWithPerms(rows)
	if err != nil {
		return nil, err
	}
	if len(rs) == 0 {
		return nil, directory.ErrNotFound
	}
	return &rs[0], nil
}

func getRole(ctx context.Context, q querier, id int64) (*directory.Role, error) {
	return oneRole(q.QueryContext(ctx, `SELECT `+roleCols+`, p.perm, p.scope
		FROM roles r LEFT JOIN role_perms p ON p.role_id = r.id WHERE r.id = ?`, id))
}

func roleByBuiltin(ctx context.Context, q querier, builtin string) (*directory.Role, error) {
	return oneRole(q.QueryContext(ctx, `SELECT `+roleCols+`, p.perm, p.scope
		FROM roles r LEFT JOIN role_perms p ON p.role_id = r.id WHERE r.builtin = ?`, builtin))
}

// CreateRole stores a custom role and sets r.ID.
func (s *Store) CreateRole(ctx context.Context, r *directory.Role) error {
	if err := r.Validate(); err != nil {
		return fmt.Errorf("create role: %w", err)
	}
	t := now()
	var id int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO roles (name, created_at) VALUES (?, ?) RETURNING id`,
			r.Name, t.UnixMicro()).Scan(&id)
		if isUnique(err) {
			return errRoleName
		}
		if err != nil {
			return err
		}
		if err := insertRolePerms(ctx, tx, id, r.Perms); err != nil {
			return err
		}
		return logChange(ctx, tx, directory.ChangeRole, id, "", "")
	})
	if err != nil {
		return fmt.Errorf("create role %q: %w", r.Name, err)
	}
	r.ID, r.Builtin, r.CreatedAt = id, "", t
	if r.Perms == nil {
		r.Perms = map[string]string{}
	}
	return nil
}

func insertRolePerms(ctx context.Context, tx *sql.Tx, id int64, perms map[string]string) error {
	for perm, scope := range perms {
		if _, err := tx.ExecContext(ctx, `INSERT INTO role_perms (role_id, perm, scope) VALUES (?, ?, ?)`,
			id, perm, scope); err != nil {
			return err
		}
	}
	return nil
}

// Role returns a role with its permissions.
func (s *Store) Role(ctx context.Context, id int64) (*directory.Role, error) {
	r, err := getRole(ctx, s.rdb, id)
	if err != nil {
		return nil, fmt.Errorf("role %d: %w", id, s.fail(err))
	}
	return r, nil
}

// RoleByBuiltin returns the built-in role owner, admin or agent.
func (s *Store) RoleByBuiltin(ctx context.Context, builtin string) (*directory.Role, error) {
	r, err := roleByBuiltin(ctx, s.rdb, builtin)
	if err != nil {
		return nil, fmt.Errorf("role %s: %w", builtin, s.fail(err))
	}
	return r, nil
}

// Roles returns every role, the built-in ones first.
func (s *Store) Roles(ctx context.Context) ([]directory.Role, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+roleCols+`, p.perm, p.scope
		FROM roles r LEFT JOIN role_perms p ON p.role_id = r.id ORDER BY r.id`)
	if err != nil {
		return nil, fmt.Errorf("roles: %w", s.fail(err))
	}
	rs, err := scanRolesWithPerms(rows)
	if err != nil {
		return nil, fmt.Errorf("roles: %w", s.fail(err))
	}
	return rs, nil
}

// UpdateRole renames a custom role and replaces the permissions of any role
// but Owner, after writing the overrides in keep.
func (s *Store) UpdateRole(ctx context.Context, r *directory.Role, keep map[int64]map[string]string) error {
	if err := r.Validate(); err != nil {
		return fmt.Errorf("update role %d: %w", r.ID, err)
	}
	var cur *directory.Role
	err := s.write(ctx, func(tx *sql.Tx) error {
		var err error
		if cur, err = getRole(ctx, tx, r.ID); err != nil {
			return err
		}
		if cur.Builtin != "" && r.Name != cur.Name {
			return directory.ErrBuiltinRole
		}
		if cur.Builtin == directory.BuiltinOwner && !maps.Equal(cur.Perms, r.Perms) {
			return directory.ErrBuiltinRole
		}
		for uid, perms := range keep {
			if err := putOverrides(ctx, tx, uid, perms); err != nil {
				if isForeignKey(err) {
					return &directory.InvalidError{Field: "keep", Rule: "unknown user"}
				}
				return err
			}
			if err := logChange(ctx, tx, directory.ChangeUser, uid, "", ""); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, `UPDATE roles SET name = ? WHERE id = ?`, r.Name, r.ID)
		if isUnique(err) {
			return errRoleName
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM role_perms WHERE role_id = ?`, r.ID); err != nil {
			return err
		}
		if err := insertRolePerms(ctx, tx, r.ID, r.Perms); err != nil {
			return err
		}
		return logChange(ctx, tx, directory.ChangeRole, r.ID, "", "")
	})
	if err != nil {
		return fmt.Errorf("update role %d: %w", r.ID, err)
	}
	r.Builtin, r.CreatedAt = cur.Builtin, cur.CreatedAt
	return nil
}

// DeleteRole deletes a custom role that is not the default role and that no
// user (not deleted) holds; deleted users lose it.
func (s *Store) DeleteRole(ctx context.Context, id int64) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		r, err := getRole(ctx, tx, id)
		if err != nil {
			return err
		}
		if r.Builtin != "" {
			return directory.ErrBuiltinRole
		}
		def, err := defaultRoleID(ctx, tx)
		if err != nil {
			return err
		}
		if def == id {
			return directory.ErrDefaultRole
		}
		var held bool
		err = tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM user_roles ur JOIN users u ON u.id = ur.user_id
			WHERE ur.role_id = ? AND u.state <> 'deleted')`, id).Scan(&held)
		if err != nil {
			return err
		}
		if held {
			return directory.ErrRoleInUse
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM user_roles WHERE role_id = ?`, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM roles WHERE id = ?`, id); err != nil {
			return err
		}
		return logChange(ctx, tx, directory.ChangeRole, id, "", "")
	})
	if err != nil {
		return fmt.Errorf("delete role %d: %w", id, err)
	}
	return nil
}

// RoleMembers returns the IDs of the users (not deleted) holding a role.
func (s *Store) RoleMembers(ctx context.Context, id int64) ([]int64, error) {
	tx, err := s.rdb.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("members of role %d: %w", id, s.fail(err))
	}
	defer tx.Rollback()
	ids, err := roleMembers(ctx, tx, id)
	if err != nil {
		return nil, fmt.Errorf("members of role %d: %w", id, s.fail(err))
	}
	return ids, nil
}

func roleMembers(ctx context.Context, tx *sql.Tx, id int64) ([]int64, error) {
	var exists bool
	if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM roles WHERE id = ?)`, id).Scan(&exists); err != nil {
		return nil, err
	}
	if !exists {
		return nil, directory.ErrNotFound
	}
	rows, err := tx.QueryContext(ctx, `SELECT ur.user_id FROM user_roles ur JOIN users u ON u.id = ur.user_id
		WHERE ur.role_id = ? AND u.state <> 'deleted' ORDER BY ur.user_id`, id)
	if err != nil {
		return nil, err
	}
	return scanIDs(rows)
}
