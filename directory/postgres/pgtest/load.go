package pgtest

import (
	"context"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// DB is what LoadDirectory needs of a connection or a pool.
type DB interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	CopyFrom(ctx context.Context, table pgx.Identifier, cols []string, src pgx.CopyFromSource) (int64, error)
}

// LoadDirectory fills a migrated, empty database for benchmarks: users
// 1..users (extensions 10001…, each holding the Agent role) in groups of 20,
// every odd group the subgroup of the one before (so user 1's department
// is users 1-40), and calls random calls over the year before 2026
// between them (one party in seven external), loaded with COPY. It ends
// with VACUUM ANALYZE, as autovacuum would have by then.
func LoadDirectory(ctx context.Context, db DB, users, calls int) error {
	groups := (users + 19) / 20
	for _, q := range []string{
		`INSERT INTO groups (id, name, parent_id)
			SELECT g, 'Group ' || g, CASE WHEN g % 2 = 1 THEN g - 1 END FROM generate_series(2, 1 + ` +
			strconv.Itoa(groups) + `) g`,
		`SELECT setval(pg_get_serial_sequence('groups', 'id'), (SELECT max(id) FROM groups))`,
		// search as directory.UserSearchText folds these ASCII fields.
		`INSERT INTO users (id, name, email, extension, search)
			SELECT i, 'User ' || i, 'u' || i || '@example.com', (10000 + i)::text,
				'user ' || i || E'\n' || 'u' || i || '@example.com' || E'\n' || (10000 + i)::text FROM generate_series(1, ` +
			strconv.Itoa(users) + `) i`,
		`SELECT setval(pg_get_serial_sequence('users', 'id'), (SELECT max(id) FROM users))`,
		`INSERT INTO group_members (group_id, user_id) SELECT 2 + (i - 1) / 20, i FROM generate_series(1, ` +
			strconv.Itoa(users) + `) i`,
		`INSERT INTO user_roles (user_id, role_id) SELECT i, (SELECT id FROM roles WHERE builtin = 'agent')
			FROM generate_series(1, ` + strconv.Itoa(users) + `) i`,
	} {
		if _, err := db.Exec(ctx, q); err != nil {
			return err
		}
	}
	rnd := rand.New(rand.NewPCG(7, 11))
	end := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	party := func() any {
		if rnd.IntN(7) == 0 {
			return nil
		}
		return 1 + rnd.Int64N(int64(users))
	}
	disps := []string{"answered", "answered", "answered", "busy", "no_answer", "cancelled", "failed"}
	n := 0
	_, err := db.CopyFrom(ctx, pgx.Identifier{"calls"},
		[]string{"sip_call_id", "caller_id", "callee_id", "from_number", "to_number", "dialed", "direction",
			"started_at", "answered_at", "ended_at", "disposition", "hangup_by", "node"},
		pgx.CopyFromFunc(func() ([]any, error) {
			if n == calls {
				return nil, nil
			}
			n++
			started := end.Add(-time.Duration(rnd.Int64N(int64(365 * 24 * time.Hour))))
			disp := disps[rnd.IntN(len(disps))]
			var answered any
			ended := started.Add(time.Duration(5+rnd.IntN(40)) * time.Second)
			if disp == "answered" {
				answered = ended
				ended = ended.Add(time.Duration(rnd.IntN(600)) * time.Second)
			}
			num := "+4822" + strconv.Itoa(1000000+rnd.IntN(9000000))
			return []any{strconv.Itoa(n) + "@bench", party(), party(), num, strconv.Itoa(10001 + rnd.IntN(users)),
				num, "internal", started, answered, ended, disp, "caller", "node1"}, nil
		}))
	if err != nil {
		return err
	}
	_, err = db.Exec(ctx, "VACUUM (ANALYZE) calls, users, groups, group_members")
	return err
}
