package authz

import "github.com/switchboard-pbx/switchboard/directory"

// KeepMembers computes what "keep current members as they are"
// writes before the role roleID gets the permissions newPerms: for each
// member, the overrides that pin their present effective scope wherever the
// change would otherwise alter it. A permission the member already overrides
// is left alone (the override keeps winning); owners and deleted users are
// skipped (the change cannot touch them); a permission whose new role value
// does not change the member's effective scope, because another role gives
// as much or more, gets no override, so no more is pinned than needed.
//
// The result maps user ID to permission to scope name and is what the
// store's UpdateRole takes as keep; the overrides are added to the members'
// existing ones. Members whose effective permissions do not change are
// absent. "Reset to role" later is SetOverrides with an empty map.
func KeepMembers(members []*Subject, newPerms map[string]string, roleID int64) map[int64]map[string]string {
	after := scopesOf(newPerms)
	keep := make(map[int64]map[string]string)
	for _, m := range members {
		if m == nil || m.userID == 0 || m.owner || m.state == directory.UserDeleted || !m.holds(roleID) {
			continue
		}
		for i, d := range catalog {
			if m.dec[i].Source == SourceOverride {
				continue
			}
			var next Scope
			for j := range m.roles {
				sc := m.roles[j].scopes[i]
				if m.roles[j].id == roleID {
					sc = after[i]
				}
				next = max(next, sc)
			}
			if next == m.dec[i].Scope {
				continue
			}
			if keep[m.userID] == nil {
				keep[m.userID] = make(map[string]string)
			}
			keep[m.userID][string(d.p)] = m.dec[i].Scope.String()
		}
	}
	return keep
}

// holds reports whether s holds the role id.
func (s *Subject) holds(id int64) bool {
	for j := range s.roles {
		if s.roles[j].id == id {
			return true
		}
	}
	return false
}
