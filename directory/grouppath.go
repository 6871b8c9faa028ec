package directory

// GroupPath returns the group id and its parents up to the top, from the
// whole tree (Groups); none for 0. authz takes it to place a group's
// resources (office hours, a group's mailbox) in the tree.
func GroupPath(groups []Group, id int64) []int64 {
	parent := make(map[int64]int64, len(groups))
	for _, g := range groups {
		parent[g.ID] = g.ParentID
	}
	var out []int64
	for id != 0 && len(out) <= len(groups) { // the bound stops a cycle the stores refuse anyway
		if _, ok := parent[id]; !ok {
			break
		}
		out = append(out, id)
		id = parent[id]
	}
	return out
}
