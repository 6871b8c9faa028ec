package authz_test

import (
	"testing"

	"github.com/switchboard-pbx/switchboard/authz"
	"github.com/switchboard-pbx/switchboard/directory"
)

// TestOfficeHoursScopes: ivr.control over office hours.
// Groups: 10 Sales with subgroup 11 Sales North, 20 Support.
func TestOfficeHoursScopes(t *testing.T) {
	const salesG, northG, supportG = 10, 11, 20
	sub := func(scope string, groups ...int64) *authz.Subject {
		a := access(lena, directory.UserActive, []directory.Role{agentRole}, map[string]string{"ivr.control": scope}, sales)
		a.User.GroupIDs = groups
		return authz.NewSubject(a)
	}
	var (
		lead     = sub("department", salesG)
		northish = sub("department", northG)
		none     = sub("none", salesG)
		anyone   = sub("any")
		owner    = subject(olivia, ownerRole)
		admin    = subject(adam, adminRole)
		agent    = subject(ann, agentRole)
		salesH   = authz.ScheduleResource([]int64{salesG})
		northH   = authz.ScheduleResource([]int64{northG, salesG})
		supportH = authz.ScheduleResource([]int64{supportG})
		company  = authz.ScheduleResource(nil)
	)
	check(t, "department: their group's hours", authz.Can(lead, authz.IVRControl, salesH), nil)
	check(t, "department: a subgroup's hours", authz.Can(lead, authz.IVRControl, northH), nil)
	check(t, "department: another department's hours", authz.Can(lead, authz.IVRControl, supportH), authz.ErrDenied)
	check(t, "department: company-wide hours and numbers", authz.Can(lead, authz.IVRControl, company), authz.ErrDenied)
	check(t, "department of the subgroup: not the parent's hours", authz.Can(northish, authz.IVRControl, salesH), authz.ErrDenied)
	check(t, "department of the subgroup: its own", authz.Can(northish, authz.IVRControl, northH), nil)
	check(t, "none: nothing", authz.Can(none, authz.IVRControl, salesH), authz.ErrDenied)
	check(t, "any override: company-wide", authz.Can(anyone, authz.IVRControl, company), nil)
	check(t, "002 owner: company-wide", authz.Can(owner, authz.IVRControl, company), nil)
	check(t, "002 admin (seeded any): other departments", authz.Can(admin, authz.IVRControl, supportH), nil)
	check(t, "002 agent (seeded none): refused", authz.Can(agent, authz.IVRControl, salesH), authz.ErrDenied)
	check(t, "ivr.control is not about calls", authz.Can(anyone, authz.IVRControl, call(lena, bob)), authz.ErrDenied)
	check(t, "the department scope may use the page", authz.CanDo(lead, authz.IVRControl), nil)
}
