package directory

import (
	"context"
	"fmt"
	"io"
	"slices"
)

// CheckImport does what ImportUsers does short of storing: it reads the
// file and checks every row on its own, against the others and against the
// store (roles, groups, prefixes, numbers and emails in use), with no
// hashing. It returns the rows with their roles and groups resolved, or an
// *ImportError naming each problem by line and column: the preview of an
// import, and its dry run.
func CheckImport(ctx context.Context, st Store, r io.Reader, policy PasswordPolicy) ([]ImportRow, error) {
	refs, err := loadImportRefs(ctx, st)
	if err != nil {
		return nil, fmt.Errorf("check import: %w", err)
	}
	return parseUsersCSV(r, policy, refs)
}

// AddImportErrors returns err, an *ImportError or nil, with more problems
// found by the caller (such as a role the importer may not grant) added
// to it, in line order; nil problems leave it as it was.
func AddImportErrors(err error, more ...*LineError) error {
	if len(more) == 0 {
		return err
	}
	var l lineErrors
	if ie, ok := err.(*ImportError); ok {
		l.list, l.more = append(l.list, ie.Lines...), ie.More
	} else if err != nil {
		return err
	}
	for _, m := range more {
		l.add(m.Line, m.Err)
	}
	sortLines(l.list)
	return l.err()
}

func sortLines(ls []*LineError) {
	slices.SortStableFunc(ls, func(a, b *LineError) int { return a.Line - b.Line })
}
