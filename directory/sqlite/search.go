package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/switchboard-pbx/switchboard/directory"
)

// fillSearch fills the search column of the users and contacts that have
// none: rows of a database migrated from before 00007_search.sql. Every
// write sets the column, so on a database that has it this finds nothing.
func (s *Store) fillSearch(ctx context.Context) (int, error) {
	n := 0
	err := s.write(ctx, func(tx *sql.Tx) error {
		for _, t := range []struct {
			table, cols string
			text        func(fields []string) string
		}{
			{"users", "name, email, extension", func(f []string) string {
				return directory.UserSearchText(&directory.User{Name: f[0], Email: f[1], Extension: f[2]})
			}},
			{"contacts", "name, company", func(f []string) string {
				return directory.ContactSearchText(&directory.Contact{Name: f[0], Company: f[1]})
			}},
		} {
			rows, err := tx.QueryContext(ctx, `SELECT id, `+t.cols+` FROM `+t.table+` WHERE search IS NULL`)
			if err != nil {
				return err
			}
			type fill struct {
				id   int64
				text string
			}
			var fills []fill
			for rows.Next() {
				var id int64
				f := make([]string, 3)
				dest := []any{&id, &f[0], &f[1]}
				if t.table == "users" {
					dest = append(dest, &f[2])
				}
				if err := rows.Scan(dest...); err != nil {
					rows.Close()
					return err
				}
				fills = append(fills, fill{id, t.text(f)})
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			for _, f := range fills {
				if _, err := tx.ExecContext(ctx, `UPDATE `+t.table+` SET search = ? WHERE id = ?`, f.text, f.id); err != nil {
					return err
				}
			}
			n += len(fills)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("fill search text: %w", err)
	}
	return n, nil
}
