package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/switchboard-pbx/switchboard/directory"
)

// fillSearch fills the search column of the users and contacts that have
// none: rows of a database migrated from before 00007_search.sql (or
// written by a node that ran an older version meanwhile). Every write sets
// the column, so on a database that has it this finds nothing. Two nodes
// starting at once may both fill a row, with the same text.
func (s *Store) fillSearch(ctx context.Context) (int, error) {
	n := 0
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		for _, t := range []struct {
			table, cols string
			text        func(f [3]string) string
		}{
			{"users", "name, email, extension", func(f [3]string) string {
				return directory.UserSearchText(&directory.User{Name: f[0], Email: f[1], Extension: f[2]})
			}},
			{"contacts", "name, company, ''", func(f [3]string) string {
				return directory.ContactSearchText(&directory.Contact{Name: f[0], Company: f[1]})
			}},
		} {
			var ids []int64
			var texts []string
			rows, err := tx.Query(ctx, "SELECT id, "+t.cols+" FROM "+t.table+" WHERE search IS NULL FOR UPDATE")
			if err != nil {
				return err
			}
			var id int64
			var f [3]string
			if _, err := pgx.ForEachRow(rows, []any{&id, &f[0], &f[1], &f[2]}, func() error {
				ids, texts = append(ids, id), append(texts, t.text(f))
				return nil
			}); err != nil {
				return err
			}
			if len(ids) == 0 {
				continue
			}
			if _, err := tx.Exec(ctx, "UPDATE "+t.table+" x SET search = v.text"+
				" FROM unnest($1::int8[], $2::text[]) AS v (id, text) WHERE x.id = v.id", ids, texts); err != nil {
				return err
			}
			n += len(ids)
		}
		return nil
	})
	return n, mapErr("fill search text", err)
}
