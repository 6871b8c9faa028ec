package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/switchboard-pbx/switchboard/directory"
)

// userImport stores every user of a CSV file, or none: a file with any
// problem prints each (file, line, column, rule) and exits 1.
func userImport(ctx context.Context, args []string, e env) error {
	return storeCommand(ctx, "user import", args, e, nil, func(ctx context.Context, st directory.Store, pos []string) error {
		if len(pos) != 1 {
			return usagef("user import: needs exactly one FILE.csv (or - for standard input)")
		}
		name := pos[0]
		var r io.Reader = e.stdin
		if name == "-" {
			name = "stdin"
		} else {
			f, err := os.Open(name)
			if err != nil {
				return fmt.Errorf("user import: %w", err)
			}
			defer f.Close()
			r = f
		}
		users, err := directory.ImportUsers(ctx, st, r, directory.DefaultPasswordPolicy)
		var ie *directory.ImportError
		if errors.As(err, &ie) {
			for _, l := range ie.Lines {
				fmt.Fprintf(e.stderr, "%s: %s\n", name, l)
			}
			more := ""
			if ie.More {
				more = fmt.Sprintf(" (only the first %d are listed)", len(ie.Lines))
			}
			return fmt.Errorf("user import: %s has problems%s; nothing was imported", name, more)
		}
		if err != nil {
			return fmt.Errorf("user import: %w", err)
		}
		_ = st.Audit(ctx, &directory.AuditEntry{Actor: "cli", Action: "user.import", Object: "users",
			Detail: fmt.Sprintf("%d users from %s", len(users), filepath.Base(name))})
		fmt.Fprintf(e.stderr, "imported %d users\n", len(users))
		return nil
	})
}
