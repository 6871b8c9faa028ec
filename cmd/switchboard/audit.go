package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/switchboard-pbx/switchboard/directory"
)

const auditUsage = `usage:
  switchboard audit verify       walk the audit log's hash chain; exit 1 naming the first entry that does not fit`

// runAudit works on the audit log in the store.
func runAudit(ctx context.Context, args []string, e env) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		return usagef("%s", auditUsage)
	}
	sub, args := args[0], args[1:]
	if sub == "verify" {
		return auditVerify(ctx, args, e)
	}
	return usagef("unknown audit command %q\n%s", sub, auditUsage)
}

// auditVerify reads the whole log in ID order, a page at a time, and
// checks each entry against the one before it (directory.AuditChain). It
// prints the number of entries and the head hash, which an operator can
// note elsewhere to detect a cut tail later.
func auditVerify(ctx context.Context, args []string, e env) error {
	return storeCommand(ctx, "audit verify", args, e, nil, func(ctx context.Context, st directory.Store, pos []string) error {
		if len(pos) > 0 {
			return usagef("audit verify: unexpected argument %q", pos[0])
		}
		const page = 1000
		var c directory.AuditChain
		var after int64
		for {
			es, err := st.AuditRange(ctx, after, page)
			if err != nil {
				return err
			}
			for i := range es {
				if err := c.Next(&es[i]); err != nil {
					var ce *directory.AuditChainError
					if errors.As(err, &ce) {
						fmt.Fprintf(e.stdout, "bad %d\n", ce.ID)
					}
					return fmt.Errorf("audit verify: %w (%d entries before it fit)", err, c.Entries)
				}
			}
			if len(es) < page {
				break
			}
			after = es[len(es)-1].ID
		}
		fmt.Fprintf(e.stdout, "ok %d %s\n", c.Entries, c.Head)
		msg := fmt.Sprintf("audit log verified: %d entries chained, head %s", c.Entries, c.Head)
		if c.Legacy > 0 {
			msg += fmt.Sprintf("; %d older entries written before the chain are not covered", c.Legacy)
		}
		fmt.Fprintln(e.stderr, msg)
		return nil
	})
}
