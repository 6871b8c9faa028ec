package directory

import (
	"strings"
	"time"
	"unicode/utf8"
)

// Group is a department in the company tree. A group may have its
// own extension number, which rings its members, and an extension
// prefix its members' numbers must start with.
type Group struct {
	ID        int64
	Name      string
	ParentID  int64 // 0 for a top-level group
	Extension string
	Prefix    string
	Default   bool // the default group: exists from the start, cannot be renamed or deleted
	CreatedAt time.Time
}

// Validate normalizes and checks the fields of g.
func (g *Group) Validate() error {
	var errs fieldErrors
	g.Name = strings.TrimSpace(g.Name)
	if g.Name == "" {
		errs.add(invalid("name", "is required"))
	} else if utf8.RuneCountInString(g.Name) > 100 {
		errs.add(invalid("name", "must be at most 100 characters"))
	}
	if g.Extension != "" {
		errs.add(ValidateExtension("extension", g.Extension))
	}
	if g.Prefix != "" && (len(g.Prefix) > 5 || strings.Trim(g.Prefix, "0123456789") != "" || g.Prefix[0] == '0') {
		errs.add(invalid("prefix", "must be 1 to 5 digits, not starting with 0"))
	}
	if g.Extension != "" && g.Prefix != "" && !strings.HasPrefix(g.Extension, g.Prefix) {
		errs.add(invalid("extension", "must start with the group's prefix "+g.Prefix))
	}
	if g.ID != 0 && g.ParentID == g.ID {
		errs.add(invalid("parent", "a group cannot be its own parent"))
	}
	return errs.err()
}

// CheckPrefix returns an *InvalidError when ext does not start with the
// prefix of a group the user is put into (numbers planned per group).
func CheckPrefix(g Group, ext string) error {
	if g.Prefix != "" && !strings.HasPrefix(ext, g.Prefix) {
		return invalid("extension", "must start with "+g.Prefix+", the prefix of group "+g.Name)
	}
	return nil
}

// DescendantIDs returns the IDs of the groups under each of roots in the tree
// described by groups, roots included. Cycles (which the stores refuse) are
// tolerated.
func DescendantIDs(groups []Group, roots []int64) []int64 {
	children := make(map[int64][]int64, len(groups))
	for _, g := range groups {
		if g.ParentID != 0 {
			children[g.ParentID] = append(children[g.ParentID], g.ID)
		}
	}
	seen := make(map[int64]bool)
	var out []int64
	stack := append([]int64(nil), roots...)
	for len(stack) > 0 {
		id := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[id] {
			continue
		}
		seen[id] = true
		out = append(out, id)
		stack = append(stack, children[id]...)
	}
	return out
}
