package authz_test

import (
	"testing"

	"github.com/switchboard-pbx/switchboard/authz"
	"github.com/switchboard-pbx/switchboard/directory"
)

// TestGroupMailboxScopes: recordings.listen over a group's voicemail.
// Groups: 10 Sales with subgroup 11 Sales North, 20 Support.
func TestGroupMailboxScopes(t *testing.T) {
	const salesG, northG, supportG = 10, 11, 20
	sub := func(scope string, groups ...int64) *authz.Subject {
		a := access(lena, directory.UserActive, []directory.Role{agentRole}, map[string]string{"recordings.listen": scope}, sales)
		a.User.GroupIDs = groups
		return authz.NewSubject(a)
	}
	var (
		salesM   = authz.GroupMailboxResource([]int64{salesG})
		northM   = authz.GroupMailboxResource([]int64{northG, salesG})
		supportM = authz.GroupMailboxResource([]int64{supportG})
		member   = sub("own", salesG)
		northOwn = sub("own", northG)
		lead     = sub("department", salesG)
		deaf     = sub("none", salesG)
		anyone   = sub("any")
	)
	check(t, "own: a member hears the group's mailbox", authz.Can(member, authz.RecordingsListen, salesM), nil)
	check(t, "own: not a subgroup's", authz.Can(member, authz.RecordingsListen, northM), authz.ErrDenied)
	check(t, "own: not another group's", authz.Can(member, authz.RecordingsListen, supportM), authz.ErrDenied)
	check(t, "own in the subgroup: not the parent's", authz.Can(northOwn, authz.RecordingsListen, salesM), authz.ErrDenied)
	check(t, "own in the subgroup: its own", authz.Can(northOwn, authz.RecordingsListen, northM), nil)
	check(t, "department: a subgroup's mailbox", authz.Can(lead, authz.RecordingsListen, northM), nil)
	check(t, "department: not another department's", authz.Can(lead, authz.RecordingsListen, supportM), authz.ErrDenied)
	check(t, "none: not even one's own group", authz.Can(deaf, authz.RecordingsListen, salesM), authz.ErrDenied)
	check(t, "any: every group", authz.Can(anyone, authz.RecordingsListen, supportM), nil)
	check(t, "a group unknown: any alone", authz.Can(lead, authz.RecordingsListen, authz.GroupMailboxResource(nil)), authz.ErrDenied)
}
