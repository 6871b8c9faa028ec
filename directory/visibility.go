package directory

// Visibility is a list filter that authz fills in and a store turns into a
// SQL WHERE clause, so lists are filtered in the database. The zero value
// shows nothing.
//
// For calls and recordings a row is visible when All is set or the caller or
// callee is among UserIDs. For users, when the user is among UserIDs. For
// contacts, when it is assigned to or created by one of UserIDs, or it is
// unassigned and Unassigned is set, or it is public and Public is set.
type Visibility struct {
	All        bool
	UserIDs    []int64
	Unassigned bool
	Public     bool
}

// Page is a window of a list: Number from 1, Size rows (default 50, max 500).
type Page struct {
	Number int
	Size   int
}

// Limit returns the SQL LIMIT and OFFSET of p, with defaults and bounds.
func (p Page) Limit() (limit, offset int) {
	limit = p.Size
	if limit <= 0 {
		limit = 50
	}
	if limit > 500 {
		limit = 500
	}
	n := p.Number
	if n < 1 {
		n = 1
	}
	if n > 1_000_000 {
		n = 1_000_000
	}
	return limit, (n - 1) * limit
}
