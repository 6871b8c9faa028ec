package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/switchboard-pbx/switchboard/directory"
)

// A batch of bindings (the registrar writes its refreshes behind, some
// thousands a second at full load) is written by multi-row statements:
// one statement per binding and one per change-log entry cost most of a
// busy registrar's writing in statement overhead. Statements of a few
// sizes are prepared once; a batch is cut into the largest that fit.
var batchSizes = [...]int{64, 16, 4, 1}

// batchStmts are the prepared multi-row statements, by batchSizes.
type batchStmts struct {
	putBindings, insChanges [len(batchSizes)]*sql.Stmt
}

const (
	putBindingsHead = `INSERT INTO bindings (extension, contact, source, transport, expires_at, call_id,
		cseq, user_agent, node, updated_at, direct, path) VALUES `
	putBindingsTail = ` ON CONFLICT (extension, contact) DO UPDATE SET source = excluded.source,
		transport = excluded.transport, expires_at = excluded.expires_at, call_id = excluded.call_id,
		cseq = excluded.cseq, user_agent = excluded.user_agent, node = excluded.node,
		updated_at = excluded.updated_at, direct = excluded.direct, path = excluded.path`
	bindingCols    = 12
	insChangesHead = `INSERT INTO changes (kind, id, key, node, at) VALUES `
	changeCols     = 5
)

// rowsSQL is head followed by n rows of cols placeholders, then tail.
func rowsSQL(head string, n, cols int, tail string) string {
	row := "(" + strings.TrimSuffix(strings.Repeat("?, ", cols), ", ") + ")"
	return head + strings.TrimSuffix(strings.Repeat(row+", ", n), ", ") + tail
}

// prepareBatches prepares the multi-row statements on the writer.
func (s *Store) prepareBatches(ctx context.Context) error {
	for i, n := range batchSizes {
		var err error
		if s.batch.putBindings[i], err = s.wdb.PrepareContext(ctx, rowsSQL(putBindingsHead, n, bindingCols, putBindingsTail)); err != nil {
			return fmt.Errorf("prepare: %w", err)
		}
		if s.batch.insChanges[i], err = s.wdb.PrepareContext(ctx, rowsSQL(insChangesHead, n, changeCols, "")); err != nil {
			return fmt.Errorf("prepare: %w", err)
		}
	}
	return nil
}

// execRows executes stmts (by batchSizes) in tx over rows 0..n-1, each
// appending its cols arguments with add.
func execRows(ctx context.Context, tx *sql.Tx, stmts *[len(batchSizes)]*sql.Stmt, n, cols int, add func(args []any, i int) []any) error {
	args := make([]any, 0, min(n, batchSizes[0])*cols)
	i := 0
	for k, size := range batchSizes {
		if n-i < size {
			continue
		}
		st := tx.StmtContext(ctx, stmts[k])
		for ; n-i >= size; i += size {
			args = args[:0]
			for j := i; j < i+size; j++ {
				args = add(args, j)
			}
			if _, err := st.ExecContext(ctx, args...); err != nil {
				return err
			}
		}
	}
	return nil
}

// PutBindings inserts or replaces each of bs in one transaction, logging
// one change per extension and node. A contact listed twice takes its
// later binding.
func (s *Store) PutBindings(ctx context.Context, bs []directory.Binding) error {
	if len(bs) == 0 {
		return nil
	}
	at := now()
	var changes [][2]string
	logged := make(map[[2]string]bool, len(bs))
	for _, b := range bs {
		if k := [2]string{b.Extension, b.Node}; !logged[k] {
			logged[k] = true
			changes = append(changes, k)
		}
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		err := execRows(ctx, tx, &s.batch.putBindings, len(bs), bindingCols, func(args []any, i int) []any {
			b := &bs[i]
			updated := b.UpdatedAt
			if updated.IsZero() {
				updated = at
			}
			return append(args, b.Extension, b.Contact, b.Source, b.Transport, b.Expires.UnixMicro(),
				b.CallID, int64(b.CSeq), b.UserAgent, b.Node, updated.UnixMicro(), b.Direct, b.Path)
		})
		if err != nil {
			return err
		}
		return execRows(ctx, tx, &s.batch.insChanges, len(changes), changeCols, func(args []any, i int) []any {
			return append(args, string(directory.ChangeBinding), int64(0), changes[i][0], changes[i][1], at.UnixMicro())
		})
	})
	if err != nil {
		return fmt.Errorf("put %d bindings of %s: %w", len(bs), bs[0].Extension, err)
	}
	return nil
}
