package postgres

import (
	"context"
	"fmt"
	"maps"
	"strconv"

	"github.com/jackc/pgx/v5"

	"github.com/switchboard-pbx/switchboard/directory"
)

// roleColumns are read by scanRole, from roles aliased r.
const roleColumns = `r.id, r.name, coalesce(r.builtin, ''), r.created_at,
	ARRAY(SELECT perm FROM role_perms WHERE role_id = r.id ORDER BY perm),
	ARRAY(SELECT scope FROM role_perms WHERE role_id = r.id ORDER BY perm)`

func scanRole(row pgx.Row) (directory.Role, error) {
	var r directory.Role
	var keys, values []string
	err := row.Scan(&r.ID, &r.Name, &r.Builtin, &r.CreatedAt, &keys, &values)
	r.CreatedAt = r.CreatedAt.UTC()
	r.Perms = permMap(keys, values)
	return r, err
}

func scanRoleRow(r pgx.CollectableRow) (directory.Role, error) { return scanRole(r) }

func roleChange(id int64) directory.Change {
	return directory.Change{Kind: directory.ChangeRole, ID: id}
}

// setRolePerms replaces the permissions of a role.
func setRolePerms(ctx context.Context, tx pgx.Tx, id int64, perms map[string]string) error {
	keys, values := permArrays(perms)
	if _, err := tx.Exec(ctx, "DELETE FROM role_perms WHERE role_id = $1", id); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `INSERT INTO role_perms (role_id, perm, scope)
		SELECT $1, p, s FROM unnest($2::text[], $3::text[]) AS x (p, s)`, id, keys, values)
	return err
}

// CreateRole stores a custom role and sets its ID and creation time; the
// name must be unused. Built-in roles come only from the migrations.
func (s *Store) CreateRole(ctx context.Context, r *directory.Role) error {
	if err := r.Validate(); err != nil {
		return fmt.Errorf("create role: %w", err)
	}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, "INSERT INTO roles (name) VALUES ($1) RETURNING id, created_at",
			r.Name).Scan(&r.ID, &r.CreatedAt); err != nil {
			return err
		}
		if err := setRolePerms(ctx, tx, r.ID, r.Perms); err != nil {
			return err
		}
		return logChanges(ctx, tx, roleChange(r.ID))
	})
	if err != nil {
		r.ID = 0
		return mapErr("create role", err)
	}
	r.Builtin = ""
	r.CreatedAt = r.CreatedAt.UTC()
	return nil
}

// Role returns one role with its permissions.
func (s *Store) Role(ctx context.Context, id int64) (*directory.Role, error) {
	r, err := scanRole(s.pool.QueryRow(ctx, "SELECT "+roleColumns+" FROM roles r WHERE r.id = $1", id))
	if err != nil {
		return nil, mapErr(fmt.Sprintf("role %d", id), err)
	}
	return &r, nil
}

// RoleByBuiltin returns the built-in role "owner", "admin" or "agent".
func (s *Store) RoleByBuiltin(ctx context.Context, builtin string) (*directory.Role, error) {
	r, err := scanRole(s.pool.QueryRow(ctx, "SELECT "+roleColumns+" FROM roles r WHERE r.builtin = $1", builtin))
	if err != nil {
		return nil, mapErr("role "+strconv.Quote(builtin), err)
	}
	return &r, nil
}

// Roles returns every role, built-in ones first (in the order they were
// created).
func (s *Store) Roles(ctx context.Context) ([]directory.Role, error) {
	rows, err := s.pool.Query(ctx, "SELECT "+roleColumns+" FROM roles r ORDER BY r.id")
	if err != nil {
		return nil, mapErr("roles", err)
	}
	rs, err := pgx.CollectRows(rows, scanRoleRow)
	return nilIfEmpty(rs), mapErr("roles", err)
}

// UpdateRole renames a custom role and replaces the permissions of any role
// but Owner. keep holds overrides written first, for members who are to keep
// their present scopes; all in one transaction.
func (s *Store) UpdateRole(ctx context.Context, r *directory.Role, keep map[int64]map[string]string) error {
	op := fmt.Sprintf("update role %d", r.ID)
	if err := r.Validate(); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	var cur directory.Role
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		cur, err = scanRole(tx.QueryRow(ctx, "SELECT "+roleColumns+" FROM roles r WHERE r.id = $1 FOR NO KEY UPDATE", r.ID))
		if err != nil {
			return err
		}
		if cur.Builtin != "" && r.Name != cur.Name {
			return directory.ErrBuiltinRole
		}
		if cur.Builtin == directory.BuiltinOwner && !maps.Equal(r.Perms, cur.Perms) {
			return directory.ErrBuiltinRole
		}
		for uid, perms := range keep {
			keys, values := permArrays(perms)
			_, err := tx.Exec(ctx, `INSERT INTO user_perms (user_id, perm, scope)
				SELECT $1, p, s FROM unnest($2::text[], $3::text[]) AS x (p, s)
				ON CONFLICT (user_id, perm) DO UPDATE SET scope = excluded.scope`, uid, keys, values)
			if err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, "UPDATE roles SET name = $2 WHERE id = $1", r.ID, r.Name); err != nil {
			return err
		}
		if err := setRolePerms(ctx, tx, r.ID, r.Perms); err != nil {
			return err
		}
		return logChanges(ctx, tx, roleChange(r.ID))
	})
	if err != nil {
		return mapErr(op, err)
	}
	r.Builtin, r.CreatedAt = cur.Builtin, cur.CreatedAt
	return nil
}

// DeleteRole deletes a custom role that is not the default role and that no
// user (not deleted) holds; deleted users' memberships go with it.
func (s *Store) DeleteRole(ctx context.Context, id int64) error {
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		// FOR UPDATE makes concurrent grants of the role (whose foreign key
		// check takes FOR KEY SHARE) and SetSetting of the default role
		// wait for this transaction, and then fail.
		var builtin string
		err := tx.QueryRow(ctx, "SELECT coalesce(builtin, '') FROM roles WHERE id = $1 FOR UPDATE", id).Scan(&builtin)
		if err != nil {
			return err
		}
		if builtin != "" {
			return directory.ErrBuiltinRole
		}
		var isDefault, used bool
		err = tx.QueryRow(ctx, `SELECT
			EXISTS (SELECT 1 FROM settings WHERE key = $2 AND value = $3),
			EXISTS (SELECT 1 FROM user_roles ur JOIN users u ON u.id = ur.user_id
				WHERE ur.role_id = $1 AND u.state <> 'deleted')`,
			id, directory.SettingDefaultRole, strconv.FormatInt(id, 10)).Scan(&isDefault, &used)
		if err != nil {
			return err
		}
		if isDefault {
			return directory.ErrDefaultRole
		}
		if used {
			return directory.ErrRoleInUse
		}
		if _, err := tx.Exec(ctx, "DELETE FROM user_roles WHERE role_id = $1", id); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "DELETE FROM roles WHERE id = $1", id); err != nil {
			return err
		}
		return logChanges(ctx, tx, roleChange(id))
	})
	return mapErr(fmt.Sprintf("delete role %d", id), err)
}

// RoleMembers returns the IDs of users (not deleted) holding the role.
func (s *Store) RoleMembers(ctx context.Context, id int64) ([]int64, error) {
	var found bool
	var members []int64
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM roles WHERE id = $1),
		ARRAY(SELECT ur.user_id FROM user_roles ur JOIN users u ON u.id = ur.user_id
			WHERE ur.role_id = $1 AND u.state <> 'deleted' ORDER BY ur.user_id)`, id).Scan(&found, &members)
	if err == nil && !found {
		err = pgx.ErrNoRows
	}
	return nilIfEmpty(members), mapErr(fmt.Sprintf("members of role %d", id), err)
}
