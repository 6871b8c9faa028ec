package authz

import "slices"

// GroupMailboxResource describes a group's voicemail mailbox, or a
// message in it, for recordings.listen: by the path of the
// group in the tree, the group first and then its parents up to the top.
// The own scope reaches the members of the group (a group's mailbox is
// its members' own); the department scope also the members of a parent
// group; any, every group. A user's mailbox is a recording of the user:
// Resource{Kind: KindRecording, UserIDs: []int64{userID}}.
func GroupMailboxResource(groupPath []int64) Resource {
	if len(groupPath) == 0 {
		return Resource{Kind: KindRecording}
	}
	return Resource{Kind: KindRecording, GroupIDs: groupPath}
}

// coversMailbox reports whether the group mailbox at path (the group,
// then its parents) lies within s's own scope, or its department scope
// when dept is set.
func (s *Subject) coversMailbox(path []int64, dept bool) bool {
	if !dept {
		path = path[:1]
	}
	for _, g := range path {
		if _, ok := slices.BinarySearch(s.groups, g); ok {
			return true
		}
	}
	return false
}
