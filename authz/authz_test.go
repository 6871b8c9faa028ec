package authz_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/switchboard-pbx/switchboard/authz"
	"github.com/switchboard-pbx/switchboard/directory"
)

// Roles as the migrations seed them, plus custom roles an admin would add.
var (
	ownerRole = directory.Role{ID: 1, Name: "Owner", Builtin: directory.BuiltinOwner} // stored perms do not matter
	adminRole = directory.Role{ID: 2, Name: "Admin", Builtin: directory.BuiltinAdmin, Perms: authz.BuiltinPerms(directory.BuiltinAdmin)}
	agentRole = directory.Role{ID: 3, Name: "Agent", Builtin: directory.BuiltinAgent, Perms: authz.BuiltinPerms(directory.BuiltinAgent)}
	leadRole  = directory.Role{ID: 10, Name: "Team lead", Perms: map[string]string{
		"calls.history": "department", "recordings.listen": "department", "calls.monitor": "department",
		"users.view": "department", "users.manage": "department", "contacts.view": "department",
		"contacts.manage": "department", "calls.outbound": "crm",
	}}
	supervisorRole = directory.Role{ID: 11, Name: "Supervisor", Perms: map[string]string{"calls.history": "any"}}
	listenerRole   = directory.Role{ID: 12, Name: "Quality", Perms: map[string]string{
		"recordings.listen": "any", "recordings.download": "none"}}
	staffCallerRole = directory.Role{ID: 13, Name: "Staff caller", Perms: map[string]string{
		"calls.outbound": "crm_and_employees", "contacts.view": "own"}}
	noCallsRole = directory.Role{ID: 14, Name: "Lobby phone", Perms: map[string]string{"calls.outbound": "none"}}
	roleEditor  = directory.Role{ID: 15, Name: "Role editor", Perms: map[string]string{
		"roles.manage": "any", "users.manage": "department", "calls.history": "department"}}
)

// The Sales department: Ann and Bob (agents) and Lena (team lead) share a
// group; Carl is in Support; Dora left the company.
const (
	olivia = 1 // owner
	adam   = 2 // admin
	ann    = 3 // agent, Sales
	bob    = 4 // agent, Sales
	lena   = 5 // agent + team lead, Sales
	carl   = 6 // agent, Support
	dora   = 7 // deleted
)

var sales = []int64{ann, bob, lena}

func access(id int64, state directory.UserState, roles []directory.Role, overrides map[string]string, dept []int64) *directory.Access {
	return &directory.Access{
		User:       directory.User{ID: id, Name: "user", State: state, Extension: "1000" + string(rune('0'+id))},
		Roles:      roles,
		Overrides:  overrides,
		Department: dept,
	}
}

func subject(id int64, roles ...directory.Role) *authz.Subject {
	dept := sales
	if !slices.Contains(sales, id) {
		dept = []int64{id}
	}
	return authz.NewSubject(access(id, directory.UserActive, roles, nil, dept))
}

func call(caller, callee int64) authz.Resource {
	return authz.CallResource(&directory.Call{CallerID: caller, CalleeID: callee})
}

func rec(caller, callee int64) authz.Resource {
	return authz.RecordingResource(&directory.Recording{CallerID: caller, CalleeID: callee})
}

func user(id int64) authz.Resource { return authz.UserResource(&directory.User{ID: id}) }

func contact(assigned, created int64, public bool) authz.Resource {
	return authz.ContactResource(&directory.Contact{AssignedTo: assigned, CreatedBy: created, Public: public})
}

// check is the one-line test of every rule: err must be nil when want is
// nil, and match want with errors.Is otherwise.
func check(t *testing.T, name string, err, want error) {
	t.Helper()
	switch {
	case want == nil && err != nil:
		t.Errorf("%s: refused: %v", name, err)
	case want != nil && !errors.Is(err, want):
		t.Errorf("%s: got %v, want %v", name, err, want)
	}
}

func TestRules(t *testing.T) {
	var (
		owner      = subject(olivia, ownerRole)
		admin      = subject(adam, adminRole)
		agent      = subject(ann, agentRole)
		lead       = subject(lena, agentRole, leadRole)
		leadOnly   = subject(lena, leadRole) // calls.outbound crm
		leadSuper  = subject(lena, leadRole, supervisorRole)
		carlAgent  = subject(carl, agentRole)
		quality    = subject(carl, agentRole, listenerRole)
		staff      = subject(carl, staffCallerRole)
		lobby      = subject(carl, noCallsRole)
		overridden = authz.NewSubject(access(ann, directory.UserActive, []directory.Role{agentRole},
			map[string]string{"calls.history": "department", "contacts.view": "none"}, sales))
		blocked = authz.NewSubject(access(bob, directory.UserBlocked, []directory.Role{agentRole},
			map[string]string{"calls.outbound": "any"}, sales))
		// The built-in Agent calls CRM contacts and employees only; an
		// admin allows any number with an override (or on the role).
		anyAgent = authz.NewSubject(access(ann, directory.UserActive, []directory.Role{agentRole},
			map[string]string{"calls.outbound": "any"}, sales))
		deleted = authz.NewSubject(access(dora, directory.UserDeleted, []directory.Role{adminRole}, nil, nil))
		nobody  = authz.NewSubject(nil)
	)
	const crmNumber, mobile = "+48221234567", "+48601000200"
	visible := []directory.Contact{{Name: "Visible", Phones: []string{crmNumber}, AssignedTo: bob}}
	hidden := []directory.Contact{{Name: "Hidden", Phones: []string{crmNumber}, AssignedTo: carl}}
	bobUser := directory.User{ID: bob, State: directory.UserActive, Extension: "10004", Mobile: mobile}
	doraUser := directory.User{ID: dora, State: directory.UserDeleted, Extension: "10007", Mobile: mobile}
	denied := authz.ErrDenied

	for _, tc := range []struct {
		name string
		err  error
		want error
	}{
		{"owner creates accounts", authz.CanDo(owner, authz.UsersCreate), nil},
		{"admin cannot create accounts", authz.CanDo(admin, authz.UsersCreate), denied},
		{"agent cannot create accounts", authz.CanDo(agent, authz.UsersCreate), denied},
		{"admin sees all call history", authz.Can(admin, authz.CallsHistory, call(bob, carl)), nil},
		{"admin sees all contacts", authz.Can(admin, authz.ContactsView, contact(carl, carl, false)), nil},
		{"admin configures the system", authz.CanDo(admin, authz.SettingsTelephony), nil},
		{"agent does not configure the system", authz.CanDo(agent, authz.SettingsTelephony), denied},
		{"agent sees own call history only: as caller", authz.Can(agent, authz.CallsHistory, call(ann, 0)), nil},
		{"agent sees own call history only: as callee", authz.Can(agent, authz.CallsHistory, call(0, ann)), nil},
		{"agent sees own call history only: not a colleague's", authz.Can(agent, authz.CallsHistory, call(bob, carl)), denied},
		{"agent sees own call history only: not an external call", authz.Can(agent, authz.CallsHistory, call(0, 0)), denied},
		{"agent sees contacts assigned to them or unassigned: assigned", authz.Can(agent, authz.ContactsView, contact(ann, carl, false)), nil},
		{"agent sees contacts assigned to them or unassigned: unassigned", authz.Can(agent, authz.ContactsView, contact(0, carl, false)), nil},
		{"agent sees contacts assigned to them or unassigned: not a colleague's", authz.Can(agent, authz.ContactsView, contact(bob, bob, false)), denied},
		{"agent hears own recordings", authz.Can(agent, authz.RecordingsListen, rec(0, ann)), nil},
		{"agent does not download recordings", authz.Can(agent, authz.RecordingsDownload, rec(0, ann)), denied},

		{"two roles give the higher scope", authz.Can(leadSuper, authz.CallsHistory, call(carl, 0)), nil},
		{"one role alone stays in the department", authz.Can(lead, authz.CallsHistory, call(carl, 0)), denied},
		{"department scope sees department members' calls", authz.Can(lead, authz.CallsHistory, call(0, bob)), nil},
		{"department scope hears recordings of department members", authz.Can(lead, authz.RecordingsListen, rec(bob, 0)), nil},
		{"department scope hears recordings of department members: not of others", authz.Can(lead, authz.RecordingsListen, rec(carl, 0)), denied},
		{"department scope hears a call between a member and an outsider", authz.Can(lead, authz.RecordingsListen, rec(carl, ann)), nil},
		{"any outbound", authz.Outbound(anyAgent, "+14155550100", nil, nil), nil},
		{"the built-in agent does not call unknown numbers", authz.Outbound(agent, "+14155550100", nil, nil), denied},
		{"crm: number of a visible contact is allowed", authz.Outbound(leadOnly, crmNumber, visible, nil), nil},
		{"crm: number of a contact the caller cannot see is refused", authz.Outbound(leadOnly, crmNumber, hidden, nil), denied},
		{"crm: an unknown number is refused", authz.Outbound(leadOnly, "+14155550100", nil, nil), denied},
		{"crm: a contact without that number does not open the trunk", authz.Outbound(leadOnly, "+14155550100", visible, nil), denied},
		{"crm: employee's mobile refused", authz.Outbound(leadOnly, mobile, nil, []directory.User{bobUser}), denied},
		{"crm: employee's mobile refused, allowed under crm_and_employees", authz.Outbound(staff, mobile, nil, []directory.User{bobUser}), nil},
		{"crm_and_employees: a visible contact is allowed", authz.Outbound(staff, crmNumber, []directory.Contact{{Phones: []string{crmNumber}}}, nil), nil},
		{"crm_and_employees: a deleted employee's mobile is refused", authz.Outbound(staff, mobile, nil, []directory.User{doraUser}), denied},
		{"none refuses every outbound call", authz.Outbound(lobby, crmNumber, visible, []directory.User{bobUser}), denied},
		{"settings are on or off", authz.CanDo(lead, authz.NumbersManage), denied},

		{"per-user override beats the role: raised", authz.Can(overridden, authz.CallsHistory, call(bob, 0)), nil},
		{"per-user override beats the role: lowered", authz.Can(overridden, authz.ContactsView, contact(ann, ann, false)), denied},
		{"listen without download: listen", authz.Can(quality, authz.RecordingsListen, rec(ann, bob)), nil},
		{"listen without download: download", authz.Can(quality, authz.RecordingsDownload, rec(ann, bob)), denied},
		{"monitor live calls of the department", authz.Can(lead, authz.CallsMonitor, call(bob, 0)), nil},
		{"monitor live calls of the department: not others", authz.Can(lead, authz.CallsMonitor, call(carl, 0)), denied},
		{"agent does not monitor", authz.Can(agent, authz.CallsMonitor, call(ann, 0)), denied},
		{"manage own account", authz.Can(agent, authz.UsersManage, user(ann)), nil},
		{"manage own account: not a colleague's", authz.Can(agent, authz.UsersManage, user(bob)), denied},
		{"manage the users of your groups", authz.Can(lead, authz.UsersManage, user(bob)), nil},
		{"manage the users of your groups: not others", authz.Can(lead, authz.UsersManage, user(carl)), denied},
		{"admin manages all users", authz.Can(admin, authz.UsersManage, user(carl)), nil},

		{"owner has everything without assignment", authz.Can(owner, authz.RecordingsDelete, rec(carl, bob)), nil},
		{"owner has everything without assignment: roles", authz.CanDo(owner, authz.RolesManage), nil},
		{"contacts created by them are visible", authz.Can(agent, authz.ContactsView, contact(bob, ann, false)), nil},
		{"public contacts are visible", authz.Can(agent, authz.ContactsView, contact(carl, carl, true)), nil},
		{"contacts they see they may edit", authz.Can(agent, authz.ContactsManage, contact(0, carl, false)), nil},
		{"contacts.delete own only their own: assigned", authz.Can(agent, authz.ContactsDelete, contact(ann, carl, false)), nil},
		{"contacts.delete own only their own: created", authz.Can(agent, authz.ContactsDelete, contact(bob, ann, false)), nil},
		{"contacts.delete own only their own: not unassigned", authz.Can(agent, authz.ContactsDelete, contact(0, carl, false)), denied},
		{"contacts.delete own only their own: not public", authz.Can(agent, authz.ContactsDelete, contact(carl, carl, true)), denied},
		{"contacts.delete any", authz.Can(admin, authz.ContactsDelete, contact(carl, carl, false)), nil},
		{"department sees contacts created by a member", authz.Can(lead, authz.ContactsView, contact(carl, bob, false)), nil},
		{"department sees contacts assigned to a member", authz.Can(lead, authz.ContactsView, contact(bob, carl, false)), nil},
		{"department does not see other departments' contacts", authz.Can(lead, authz.ContactsView, contact(carl, carl, false)), denied},

		{"blocked user keeps SIP", authz.CanUseSIP(&directory.User{State: directory.UserBlocked}), nil},
		{"blocked user cannot log in", authz.CanLogin(&directory.User{State: directory.UserBlocked}), denied},
		{"blocked user's phone still calls out", authz.Outbound(blocked, "+14155550100", nil, nil), nil},
		{"active user logs in", authz.CanLogin(&directory.User{State: directory.UserActive}), nil},
		{"active user uses SIP", authz.CanUseSIP(&directory.User{State: directory.UserActive}), nil},
		{"deleted user cannot log in", authz.CanLogin(&directory.User{State: directory.UserDeleted}), denied},
		{"deleted user loses SIP", authz.CanUseSIP(&directory.User{State: directory.UserDeleted}), denied},
		{"deleted user has no permissions left", authz.Can(deleted, authz.CallsHistory, call(dora, 0)), denied},
		{"deleted user cannot call out", authz.Outbound(deleted, "+14155550100", nil, nil), denied},
		{"unknown state logs in nowhere", authz.CanLogin(&directory.User{State: "frozen"}), denied},
		{"unknown state has no SIP", authz.CanUseSIP(&directory.User{State: "frozen"}), denied},
		{"nil user logs in nowhere", authz.CanLogin(nil), denied},

		{"nil subject may do nothing", authz.Can(nil, authz.CallsHistory, call(0, 0)), denied},
		{"empty subject may do nothing", authz.CanDo(nobody, authz.CallsHistory), denied},
		{"nil subject calls nowhere", authz.Outbound(nil, crmNumber, visible, nil), denied},
		{"unknown permission is refused", authz.Can(owner, "calls.everything", call(olivia, 0)), denied},
		{"unknown permission is refused without a resource", authz.CanDo(owner, "calls.everything"), denied},
		{"permission of another kind is refused", authz.Can(admin, authz.CallsHistory, contact(0, 0, false)), denied},
		{"calls.outbound is not decided by Can", authz.Can(owner, authz.CallsOutbound, call(olivia, 0)), denied},
		{"zero resource matches no scoped rule", authz.Can(owner, authz.ContactsView, authz.Resource{}), denied},
		{"on/off permission applies to any resource", authz.Can(admin, authz.NumbersManage, authz.Resource{}), nil},
		{"carl's own call", authz.Can(carlAgent, authz.CallsHistory, call(carl, ann)), nil},
	} {
		check(t, tc.name, tc.err, tc.want)
	}
}

func TestDeniedError(t *testing.T) {
	agent := subject(ann, agentRole)
	err := authz.Can(agent, authz.CallsHistory, call(bob, 0))
	var de *authz.DeniedError
	if !errors.As(err, &de) {
		t.Fatalf("%v: not a *DeniedError", err)
	}
	if de.Permission != authz.CallsHistory || !de.OutOfScope || de.Reason != "allowed only for your own" {
		t.Errorf("got %+v", de)
	}
	if got := err.Error(); got != "permission denied: calls.history: allowed only for your own" {
		t.Errorf("message %q", got)
	}
	err = authz.Can(agent, authz.RecordingsDownload, rec(ann, 0))
	if !errors.As(err, &de) || de.OutOfScope || de.Reason != "not allowed for you" {
		t.Errorf("download: got %+v", de)
	}
	err = authz.Can(subject(lena, leadRole), authz.CallsHistory, call(carl, 0))
	if !errors.As(err, &de) || !de.OutOfScope || de.Reason != "allowed only within your department" {
		t.Errorf("department: got %+v", de)
	}
	err = authz.CanLogin(&directory.User{State: directory.UserBlocked})
	if err.Error() != "permission denied: the account is blocked" {
		t.Errorf("login message %q", err)
	}
}

func TestOutboundReasons(t *testing.T) {
	for _, tc := range []struct {
		name   string
		role   directory.Role
		reason string
	}{
		{"none", noCallsRole, "outbound calls are not allowed for you"},
		{"crm", leadRole, "number is not a CRM contact you can see"},
		{"crm and employees", staffCallerRole, "number is neither a CRM contact you can see nor an employee"},
	} {
		err := authz.Outbound(subject(carl, tc.role), "+14155550100", nil, nil)
		var de *authz.DeniedError
		if !errors.As(err, &de) || de.Reason != tc.reason || de.Permission != authz.CallsOutbound {
			t.Errorf("%s: got %v, want reason %q", tc.name, err, tc.reason)
		}
		// The reason goes out as a SIP reason phrase: one line of text.
		for _, r := range tc.reason {
			if r < 0x20 || r > 0x7e {
				t.Errorf("%s: reason %q is not a plain reason phrase", tc.name, tc.reason)
			}
		}
	}
}

// TestSubgroupsAreInTheDepartment builds the department the way a store
// does, from the group tree: members of every group the user belongs to and
// of all groups below them.
func TestSubgroupsAreInTheDepartment(t *testing.T) {
	groups := []directory.Group{
		{ID: 1, Name: "Sales"},
		{ID: 2, Name: "North", ParentID: 1},
		{ID: 3, Name: "Hanoi", ParentID: 2},
		{ID: 4, Name: "Support"},
	}
	members := map[int64][]int64{1: {20}, 2: {21}, 3: {22}, 4: {23}}
	memberOf := map[int64][]int64{20: {1}, 21: {2}, 22: {3}, 23: {4}}
	department := func(id int64) []int64 {
		var out []int64
		for _, g := range directory.DescendantIDs(groups, memberOf[id]) {
			out = append(out, members[g]...)
		}
		slices.Sort(out)
		return out
	}
	head := authz.NewSubject(access(20, directory.UserActive, []directory.Role{leadRole}, nil, department(20)))
	hanoi := authz.NewSubject(access(22, directory.UserActive, []directory.Role{leadRole}, nil, department(22)))
	for _, tc := range []struct {
		name string
		err  error
		want error
	}{
		{"subgroups are in the department: child", authz.Can(head, authz.CallsHistory, call(21, 0)), nil},
		{"subgroups are in the department: grandchild", authz.Can(head, authz.RecordingsListen, rec(0, 22)), nil},
		{"subgroups are in the department: not a sibling tree", authz.Can(head, authz.CallsHistory, call(23, 0)), authz.ErrDenied},
		{"a subgroup does not see its parent", authz.Can(hanoi, authz.CallsHistory, call(20, 0)), authz.ErrDenied},
		{"a subgroup sees itself", authz.Can(hanoi, authz.CallsHistory, call(22, 0)), nil},
	} {
		check(t, tc.name, tc.err, tc.want)
	}
	v := authz.Visibility(head, authz.CallsHistory)
	if !slices.Equal(v.UserIDs, []int64{20, 21, 22}) || v.All {
		t.Errorf("department visibility %+v, want users 20, 21, 22", v)
	}
}

func TestEffectiveExplains(t *testing.T) {
	overridden := authz.NewSubject(access(ann, directory.UserActive, []directory.Role{agentRole},
		map[string]string{"calls.history": "department", "users.view": "everything"}, sales))
	deleted := authz.NewSubject(access(dora, directory.UserDeleted, []directory.Role{adminRole}, nil, nil))
	for _, tc := range []struct {
		name     string
		s        *authz.Subject
		p        authz.Permission
		scope    authz.Scope
		source   authz.Source
		roleID   int64
		roleName string
		text     string
	}{
		{"from a role", subject(lena, agentRole, leadRole), authz.CallsHistory,
			authz.ScopeDepartment, authz.SourceRole, 10, "Team lead", "department, from role Team lead"},
		{"two roles give the higher scope", subject(lena, leadRole, supervisorRole), authz.CallsHistory,
			authz.ScopeAny, authz.SourceRole, 11, "Supervisor", "any, from role Supervisor"},
		{"ties are named by the first role", subject(lena, leadRole, roleEditor), authz.UsersManage,
			authz.ScopeDepartment, authz.SourceRole, 10, "Team lead", "department, from role Team lead"},
		{"outbound scopes", subject(lena, leadRole), authz.CallsOutbound,
			authz.ScopeCRM, authz.SourceRole, 10, "Team lead", "crm, from role Team lead"},
		{"per-user override beats the role", overridden, authz.CallsHistory,
			authz.ScopeDepartment, authz.SourceOverride, 0, "", "department, set for this user"},
		{"an invalid override grants nothing", overridden, authz.UsersView,
			authz.ScopeNone, authz.SourceOverride, 0, "", "none, set for this user"},
		{"owner has everything without assignment", subject(olivia, ownerRole), authz.RecordingsDelete,
			authz.ScopeAny, authz.SourceOwner, 1, "Owner", "any, as owner"},
		{"owner's outbound is any", subject(olivia, agentRole, ownerRole), authz.CallsOutbound,
			authz.ScopeAny, authz.SourceOwner, 1, "Owner", "any, as owner"},
		{"owner's contacts.delete is any", subject(olivia, ownerRole), authz.ContactsDelete,
			authz.ScopeAny, authz.SourceOwner, 1, "Owner", "any, as owner"},
		{"no role grants it", subject(ann, agentRole), authz.AuditView,
			authz.ScopeNone, authz.SourceNone, 0, "", "none, no role grants it"},
		{"no roles at all", subject(ann), authz.CallsHistory,
			authz.ScopeNone, authz.SourceNone, 0, "", "none, no role grants it"},
		{"deleted user has nothing", deleted, authz.CallsHistory,
			authz.ScopeNone, authz.SourceDeleted, 0, "", "none, account deleted"},
		{"unknown permission", subject(olivia, ownerRole), "calls.everything",
			authz.ScopeNone, authz.SourceNone, 0, "", "none, no role grants it"},
		{"nil subject", nil, authz.CallsHistory,
			authz.ScopeNone, authz.SourceNone, 0, "", "none, no role grants it"},
	} {
		d := tc.s.Effective(tc.p)
		if d.Permission != tc.p || d.Scope != tc.scope || d.Source != tc.source || d.RoleID != tc.roleID || d.RoleName != tc.roleName {
			t.Errorf("%s: got %+v, want %s %s from %d %q", tc.name, d, tc.scope, tc.source, tc.roleID, tc.roleName)
		}
		if got := d.String(); got != tc.text {
			t.Errorf("%s: explanation %q, want %q", tc.name, got, tc.text)
		}
	}
	ds := subject(lena, agentRole, leadRole).Decisions()
	if len(ds) != len(authz.Catalog()) || ds[0].Permission != authz.CallsHistory {
		t.Errorf("Decisions: %d decisions, first %v", len(ds), ds[0])
	}
	b, err := json.Marshal(ds[0])
	if err != nil || string(b) != `{"Permission":"calls.history","Scope":"department","Source":"role","RoleID":10,"RoleName":"Team lead"}` {
		t.Errorf("JSON %s, %v", b, err)
	}
}

func TestVisibility(t *testing.T) {
	var (
		owner = subject(olivia, ownerRole)
		agent = subject(ann, agentRole)
		lead  = subject(lena, agentRole, leadRole)
	)
	own := []int64{ann}
	for _, tc := range []struct {
		name string
		s    *authz.Subject
		p    authz.Permission
		want directory.Visibility
	}{
		{"agent lists own calls", agent, authz.CallsHistory, directory.Visibility{UserIDs: own}},
		{"agent lists contacts assigned to them or unassigned", agent, authz.ContactsView,
			directory.Visibility{UserIDs: own, Unassigned: true, Public: true}},
		{"agent deletes only their own contacts", agent, authz.ContactsDelete, directory.Visibility{UserIDs: own}},
		{"department lists the department", lead, authz.CallsHistory, directory.Visibility{UserIDs: sales}},
		{"department contacts", lead, authz.ContactsView,
			directory.Visibility{UserIDs: sales, Unassigned: true, Public: true}},
		{"none lists nothing", agent, authz.AuditView, directory.Visibility{}},
		{"owner lists everything", owner, authz.CallsHistory, directory.Visibility{All: true}},
		{"outbound crm is no list filter", subject(lena, leadRole), authz.CallsOutbound, directory.Visibility{}},
		{"unknown permission lists nothing", owner, "calls.everything", directory.Visibility{}},
		{"nil subject lists nothing", nil, authz.CallsHistory, directory.Visibility{}},
	} {
		got := authz.Visibility(tc.s, tc.p)
		if got.All != tc.want.All || got.Unassigned != tc.want.Unassigned || got.Public != tc.want.Public ||
			!slices.Equal(got.UserIDs, tc.want.UserIDs) {
			t.Errorf("%s: got %+v, want %+v", tc.name, got, tc.want)
		}
	}
	// A store may append to the filter it is given without touching the subject.
	v := authz.Visibility(lead, authz.CallsHistory)
	_ = append(v.UserIDs, 99)
	if again := authz.Visibility(lead, authz.CallsHistory); !slices.Equal(again.UserIDs, sales) {
		t.Errorf("appending to a filter changed the subject: %v", again.UserIDs)
	}
}

// visible is what a store does with a Visibility (see directory.Visibility).
func visible(v directory.Visibility, r authz.Resource) bool {
	if v.All {
		return true
	}
	if r.Kind == authz.KindContact {
		return slices.Contains(v.UserIDs, r.AssignedTo) || slices.Contains(v.UserIDs, r.CreatedBy) ||
			r.AssignedTo == 0 && v.Unassigned || r.Public && v.Public
	}
	for _, id := range r.UserIDs {
		if slices.Contains(v.UserIDs, id) {
			return true
		}
	}
	return false
}

// TestCanAgreesWithVisibility checks that a list filtered by Visibility holds
// exactly the resources Can allows one by one, so IDs guessed in URLs reveal
// nothing the lists do not show.
func TestCanAgreesWithVisibility(t *testing.T) {
	subjects := map[string]*authz.Subject{
		"owner": subject(olivia, ownerRole), "admin": subject(adam, adminRole),
		"agent": subject(ann, agentRole), "lead": subject(lena, agentRole, leadRole),
		"quality": subject(carl, listenerRole), "nobody": authz.NewSubject(nil),
	}
	people := []int64{0, olivia, adam, ann, bob, lena, carl}
	var resources []authz.Resource
	for _, a := range people {
		for _, b := range people {
			resources = append(resources, call(a, b), rec(a, b), contact(a, b, false), contact(a, b, true))
		}
		resources = append(resources, user(a))
	}
	perms := map[authz.Kind][]authz.Permission{
		authz.KindCall:      {authz.CallsHistory, authz.CallsMonitor, authz.CallsControl, authz.RecordingsListen},
		authz.KindRecording: {authz.RecordingsListen, authz.RecordingsDownload, authz.RecordingsDelete},
		authz.KindUser:      {authz.UsersView, authz.UsersManage},
		authz.KindContact:   {authz.ContactsView, authz.ContactsManage, authz.ContactsDelete},
	}
	for _, name := range slices.Sorted(maps.Keys(subjects)) {
		s := subjects[name]
		for _, r := range resources {
			for _, p := range perms[r.Kind] {
				can := authz.Can(s, p, r) == nil
				if listed := visible(authz.Visibility(s, p), r); can != listed {
					t.Errorf("%s %s %+v: Can %v, listed %v", name, p, r, can, listed)
				}
			}
		}
	}
}

func TestCatalog(t *testing.T) {
	cat := authz.Catalog()
	if len(cat) != 26 {
		t.Fatalf("%d permissions, want 26", len(cat))
	}
	want := map[authz.Permission]string{
		"calls.history": "none own department any", "recordings.listen": "none own department any",
		"recordings.download": "none own department any", "recordings.delete": "none any",
		"calls.outbound": "none crm crm_and_employees any", "calls.monitor": "none department any",
		"calls.control":    "none department any",
		"presence.observe": "none own department any", "presence.share": "none department any",
		"calls.share": "none department any", "calls.intercom": "none department any",
		"calls.park": "none own department any", "ivr.control": "none department any",
		"queues.view": "none department any", "queues.manage": "none department any",
		"users.view": "none own department any", "users.manage": "none own department any",
		"users.create": "none any", "groups.manage": "none any", "roles.manage": "none any",
		"numbers.manage": "none any", "settings.telephony": "none any", "audit.view": "none any",
		"contacts.view": "none own department any", "contacts.manage": "none own department any",
		"contacts.delete": "none own any",
	}
	for _, pi := range cat {
		var names string
		for i, s := range pi.Scopes {
			if i > 0 {
				names += " "
				if s <= pi.Scopes[i-1] {
					t.Errorf("%s: scopes out of order: %v", pi.Permission, pi.Scopes)
				}
			}
			names += s.String()
		}
		if names != want[pi.Permission] {
			t.Errorf("%s: scopes %q, want %q", pi.Permission, names, want[pi.Permission])
		}
		if pi.Highest() != authz.ScopeAny {
			t.Errorf("%s: highest %s", pi.Permission, pi.Highest())
		}
		for _, s := range pi.Scopes {
			got, err := authz.ParseScope(string(pi.Permission), s.String())
			if err != nil || got != s {
				t.Errorf("ParseScope(%s, %s) = %v, %v", pi.Permission, s, got, err)
			}
		}
		// Each permission is known to the decision functions.
		if d := subject(olivia, ownerRole).Effective(pi.Permission); d.Source != authz.SourceOwner || d.Permission != pi.Permission {
			t.Errorf("%s: Effective answers %+v", pi.Permission, d)
		}
	}
	cat[0].Scopes[0] = authz.ScopeAny
	if authz.Catalog()[0].Scopes[0] != authz.ScopeNone {
		t.Error("Catalog returned its own table")
	}
}

func TestParseScope(t *testing.T) {
	for _, tc := range []struct {
		p, s, err string
	}{
		{"calls.history", "department", ""},
		{"calls.outbound", "crm_and_employees", ""},
		{"calls.outbound", "department", "calls.outbound: must be one of none, crm, crm_and_employees, any"},
		{"contacts.delete", "department", "contacts.delete: must be one of none, own, any"},
		{"users.create", "own", "users.create: must be one of none, any"},
		{"calls.history", "crm", "calls.history: must be one of none, own, department, any"},
		{"calls.history", "", "calls.history: must be one of none, own, department, any"},
		{"calls.history", "Any", "calls.history: must be one of none, own, department, any"},
		{"calls.everything", "any", "calls.everything: is not a known permission"},
	} {
		_, err := authz.ParseScope(tc.p, tc.s)
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("ParseScope(%q, %q): %v", tc.p, tc.s, err)
		case tc.err != "" && (err == nil || err.Error() != tc.err || !errors.Is(err, directory.ErrInvalid)):
			t.Errorf("ParseScope(%q, %q): got %v, want %s", tc.p, tc.s, err, tc.err)
		}
	}
}

func TestValidatePerms(t *testing.T) {
	if err := authz.ValidatePerms(map[string]string{"calls.history": "own"}); err != nil {
		t.Errorf("valid: %v", err)
	}
	if err := authz.ValidatePerms(nil); err != nil {
		t.Errorf("empty: %v", err)
	}
	err := authz.ValidatePerms(map[string]string{
		"calls.history": "all", "zeta.x": "any", "alpha.y": "any", "contacts.delete": "department",
	})
	want := "calls.history: must be one of none, own, department, any\n" +
		"contacts.delete: must be one of none, own, any\n" +
		"alpha.y: is not a known permission\n" +
		"zeta.x: is not a known permission"
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want\n%s", err, want)
	}
	var ie *directory.InvalidError
	if !errors.As(err, &ie) || ie.Field != "calls.history" || !errors.Is(err, directory.ErrInvalid) {
		t.Errorf("not an InvalidError naming the permission: %#v", ie)
	}
}

// TestBuiltinPerms pins the defaults of the built-in roles; the migrations
// of both backends seed exactly these (their tests compare against
// BuiltinPerms).
func TestBuiltinPerms(t *testing.T) {
	want := map[string]map[string]string{
		directory.BuiltinAdmin: {
			"calls.history": "any", "recordings.listen": "any", "recordings.download": "any",
			"recordings.delete": "none", "calls.outbound": "any", "calls.monitor": "any", "users.view": "any",
			"calls.control": "any", "presence.observe": "any", "presence.share": "any", "calls.share": "any", "calls.intercom": "any", "calls.park": "any", "ivr.control": "any", "queues.view": "any", "queues.manage": "any", "users.manage": "any", "users.create": "none", "groups.manage": "any", "roles.manage": "none",
			"numbers.manage": "any", "settings.telephony": "any", "audit.view": "any", "contacts.view": "any",
			"contacts.manage": "any", "contacts.delete": "any",
		},
		directory.BuiltinAgent: {
			"calls.history": "own", "recordings.listen": "own", "recordings.download": "none",
			"recordings.delete": "none", "calls.outbound": "crm_and_employees", "calls.monitor": "none", "users.view": "own",
			"calls.control": "none", "presence.observe": "department", "presence.share": "department", "calls.share": "department", "calls.intercom": "none", "calls.park": "any", "ivr.control": "none",
			"queues.view": "none", "queues.manage": "none",
			"users.manage": "own", "users.create": "none", "groups.manage": "none", "roles.manage": "none",
			"numbers.manage": "none", "settings.telephony": "none", "audit.view": "none", "contacts.view": "own",
			"contacts.manage": "own", "contacts.delete": "own",
		},
		directory.BuiltinOwner: {},
	}
	for _, pi := range authz.Catalog() {
		want[directory.BuiltinOwner][string(pi.Permission)] = pi.Highest().String()
	}
	for name, w := range want {
		got := authz.BuiltinPerms(name)
		if !maps.Equal(got, w) {
			t.Errorf("%s: got %v, want %v", name, got, w)
		}
		if err := authz.ValidatePerms(got); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if authz.BuiltinPerms("") != nil || authz.BuiltinPerms("boss") != nil {
		t.Error("perms for a role that is not built in")
	}
	authz.BuiltinPerms(directory.BuiltinAgent)["calls.history"] = "any"
	if authz.BuiltinPerms(directory.BuiltinAgent)["calls.history"] != "own" {
		t.Error("BuiltinPerms returned a shared map")
	}
}

func TestNoEscalation(t *testing.T) {
	var (
		owner  = subject(olivia, ownerRole)
		admin  = subject(adam, adminRole)
		agent  = subject(ann, agentRole)
		lead   = subject(lena, agentRole, leadRole)
		editor = subject(lena, agentRole, roleEditor) // roles.manage any, calls.history department
	)
	annAcc := access(ann, directory.UserActive, []directory.Role{agentRole}, nil, sales)
	bobAcc := access(bob, directory.UserActive, []directory.Role{agentRole},
		map[string]string{"calls.history": "any"}, sales)
	carlAcc := access(carl, directory.UserActive, []directory.Role{agentRole}, nil, []int64{carl})
	lenaAcc := access(lena, directory.UserActive, []directory.Role{agentRole, leadRole}, nil, sales)
	oliviaAcc := access(olivia, directory.UserActive, []directory.Role{ownerRole}, nil, nil)
	newAcc := &directory.Access{User: directory.User{Name: "New"}}
	raised := maps.Clone(agentRole.Perms)
	raised["calls.history"] = "department"
	tooHigh := maps.Clone(agentRole.Perms)
	tooHigh["calls.history"] = "any"
	lowerAny := maps.Clone(adminRole.Perms)
	lowerAny["calls.history"] = "own"
	denied, invalid := authz.ErrDenied, directory.ErrInvalid

	for _, tc := range []struct {
		name string
		err  error
		want error
	}{
		{"role edit: owner edits the Agent role", authz.CanEditRole(owner, &agentRole, tooHigh), nil},
		{"role edit: owner creates a role", authz.CanEditRole(owner, nil, leadRole.Perms), nil},
		{"admin cannot edit roles", authz.CanEditRole(admin, &agentRole, raised), denied},
		{"agent cannot edit roles", authz.CanEditRole(agent, &agentRole, raised), denied},
		{"role edit: the Owner role cannot be edited", authz.CanEditRole(owner, &ownerRole, map[string]string{}), denied},
		{"role edit: within the editor's scope", authz.CanEditRole(editor, &agentRole, raised), nil},
		{"role edit: above the editor's scope", authz.CanEditRole(editor, &agentRole, tooHigh), denied},
		{"role edit: a new role above the editor's scope", authz.CanEditRole(editor, nil, map[string]string{"audit.view": "any"}), denied},
		{"role edit: lowering a scope above the editor's", authz.CanEditRole(editor, &adminRole, lowerAny), denied},
		{"role edit: unchanged scopes above the editor's are fine", authz.CanEditRole(editor, &supervisorRole,
			map[string]string{"calls.history": "any", "users.view": "own"}), nil},
		{"role edit: an invalid scope is invalid, not denied", authz.CanEditRole(owner, &agentRole, map[string]string{"calls.history": "all"}), invalid},

		{"overrides: admin raises an agent within their own scope", authz.CanSetOverrides(admin, annAcc, map[string]string{"calls.history": "department"}), nil},
		{"overrides: reset to role", authz.CanSetOverrides(admin, bobAcc, nil), nil},
		{"overrides: lead cannot reset what they could not grant", authz.CanSetOverrides(lead, bobAcc, nil), denied},
		{"overrides: lead grants within their scope", authz.CanSetOverrides(lead, annAcc, map[string]string{"calls.history": "department"}), nil},
		{"overrides: lead cannot grant above their scope", authz.CanSetOverrides(lead, annAcc, map[string]string{"calls.history": "any"}), denied},
		{"overrides: lead cannot grant what they lack", authz.CanSetOverrides(lead, annAcc, map[string]string{"audit.view": "any"}), denied},
		{"overrides: lead manages only their department", authz.CanSetOverrides(lead, carlAcc, map[string]string{"calls.history": "own"}), denied},
		{"overrides: agent cannot set overrides for others", authz.CanSetOverrides(agent, access(bob, directory.UserActive, nil, nil, sales), nil), denied},
		{"overrides: no one raises themself", authz.CanSetOverrides(lead, lenaAcc, map[string]string{"calls.history": "department"}), denied},
		{"overrides: admin cannot touch an owner", authz.CanSetOverrides(admin, oliviaAcc, map[string]string{"calls.history": "none"}), denied},
		{"overrides: an owner may", authz.CanSetOverrides(owner, lenaAcc, map[string]string{"audit.view": "any"}), nil},
		{"overrides: invalid scope", authz.CanSetOverrides(admin, annAcc, map[string]string{"calls.history": "all"}), invalid},

		{"assign roles: admin gives an agent the Team lead role", authz.CanAssignRoles(admin, annAcc, []directory.Role{agentRole, leadRole}), nil},
		{"assign roles: admin cannot grant Owner", authz.CanAssignRoles(admin, annAcc, []directory.Role{ownerRole}), denied},
		{"assign roles: owner grants Owner", authz.CanAssignRoles(owner, annAcc, []directory.Role{ownerRole}), nil},
		{"assign roles: admin cannot demote an owner", authz.CanAssignRoles(admin, oliviaAcc, []directory.Role{adminRole}), denied},
		{"assign roles: admin cannot grant a role above their own", authz.CanAssignRoles(admin, annAcc, []directory.Role{roleEditor}), denied},
		{"assign roles: lead cannot grant Admin", authz.CanAssignRoles(lead, annAcc, []directory.Role{adminRole}), denied},
		{"assign roles: lead cannot take a role above their own", authz.CanAssignRoles(lead, access(bob, directory.UserActive,
			[]directory.Role{agentRole, supervisorRole}, nil, sales), []directory.Role{agentRole}), denied},
		{"assign roles: lead cannot touch a member who outranks them, even keeping the role", authz.CanAssignRoles(lead, access(bob, directory.UserActive,
			[]directory.Role{agentRole, supervisorRole}, nil, sales), []directory.Role{agentRole, supervisorRole}), denied},
		{"assign roles: no one promotes themself", authz.CanAssignRoles(lead, lenaAcc, []directory.Role{agentRole}), denied},
		{"assign roles: outside the editor's users.manage", authz.CanAssignRoles(lead, carlAcc, []directory.Role{agentRole, leadRole}), denied},
		{"assign roles: admin cannot create accounts", authz.CanAssignRoles(admin, newAcc, []directory.Role{agentRole}), denied},
		{"assign roles: owner creates an agent", authz.CanAssignRoles(owner, newAcc, []directory.Role{agentRole}), nil},
		{"assign roles: nil target", authz.CanAssignRoles(owner, nil, nil), denied},
		{"assign roles: nil editor", authz.CanAssignRoles(nil, annAcc, nil), denied},
	} {
		check(t, tc.name, tc.err, tc.want)
	}

	var de *authz.DeniedError
	err := authz.CanEditRole(editor, &agentRole, tooHigh)
	if !errors.As(err, &de) || de.Permission != authz.CallsHistory || de.Reason != "cannot grant any, above your own department" {
		t.Errorf("role edit refusal: %v", err)
	}
	err = authz.CanAssignRoles(admin, annAcc, []directory.Role{roleEditor})
	if !errors.As(err, &de) || de.Permission != authz.RolesManage || de.Reason != "role Role editor grants any, above your own none" {
		t.Errorf("assign refusal: %v", err)
	}
}

// TestCanManageUser: nobody manages someone who outranks them:
// the target's effective permissions must be within the actor's own, and an
// owner is changed only by an owner.
func TestCanManageUser(t *testing.T) {
	var (
		owner = subject(olivia, ownerRole)
		admin = subject(adam, adminRole)
		agent = subject(ann, agentRole)
		lead  = subject(lena, agentRole, leadRole)
	)
	oliviaAcc := access(olivia, directory.UserActive, []directory.Role{ownerRole}, nil, nil)
	blockedOwner := access(olivia, directory.UserBlocked, []directory.Role{ownerRole}, nil, nil)
	adamAcc := access(adam, directory.UserActive, []directory.Role{adminRole}, nil, nil)
	annAcc := access(ann, directory.UserActive, []directory.Role{agentRole}, nil, sales)
	bobRaised := access(bob, directory.UserActive, []directory.Role{agentRole}, map[string]string{"calls.history": "any"}, sales)
	bobSupervisor := access(bob, directory.UserActive, []directory.Role{agentRole, supervisorRole}, nil, sales)
	lenaAcc := access(lena, directory.UserActive, []directory.Role{agentRole, leadRole}, nil, sales)
	carlAcc := access(carl, directory.UserActive, []directory.Role{agentRole}, nil, []int64{carl})
	denied := authz.ErrDenied
	for _, tc := range []struct {
		name string
		err  error
		want error
	}{
		{"admin cannot manage the owner", authz.CanManageUser(admin, authz.UsersManage, oliviaAcc), denied},
		{"admin cannot unblock a blocked owner", authz.CanManageUser(admin, authz.UsersManage, blockedOwner), denied},
		{"owner manages an admin", authz.CanManageUser(owner, authz.UsersManage, adamAcc), nil},
		{"owner manages another owner", authz.CanManageUser(owner, authz.UsersManage, access(9, directory.UserActive, []directory.Role{ownerRole}, nil, nil)), nil},
		{"admin manages an agent", authz.CanManageUser(admin, authz.UsersManage, annAcc), nil},
		{"admin manages a team lead", authz.CanManageUser(admin, authz.UsersManage, lenaAcc), nil},
		{"admin manages another admin: equal is within", authz.CanManageUser(admin, authz.UsersManage, access(9, directory.UserActive, []directory.Role{adminRole}, nil, nil)), nil},
		{"lead manages an agent of the department", authz.CanManageUser(lead, authz.UsersManage, annAcc), nil},
		{"lead cannot manage a member raised by an override above them", authz.CanManageUser(lead, authz.UsersManage, bobRaised), denied},
		{"lead cannot manage a member with a role above them", authz.CanManageUser(lead, authz.UsersManage, bobSupervisor), denied},
		{"lead cannot manage the admin", authz.CanManageUser(lead, authz.UsersManage, adamAcc), denied},
		{"lead cannot manage outside the department", authz.CanManageUser(lead, authz.UsersManage, carlAcc), denied},
		{"agent manages their own account", authz.CanManageUser(agent, authz.UsersManage, annAcc), nil},
		{"agent cannot manage a colleague", authz.CanManageUser(agent, authz.UsersManage, lenaAcc), denied},
		{"block needs users.create: admin lacks it", authz.CanManageUser(admin, authz.UsersCreate, annAcc), denied},
		{"owner blocks an agent", authz.CanManageUser(owner, authz.UsersCreate, annAcc), nil},
		{"nil target", authz.CanManageUser(owner, authz.UsersManage, nil), denied},
		{"nil actor", authz.CanManageUser(nil, authz.UsersManage, annAcc), denied},
		{"overrides: admin cannot reset an owner", authz.CanSetOverrides(admin, oliviaAcc, nil), denied},
	} {
		check(t, tc.name, tc.err, tc.want)
	}
	var de *authz.DeniedError
	err := authz.CanManageUser(admin, authz.UsersManage, oliviaAcc)
	if !errors.As(err, &de) || de.Permission != authz.UsersManage || de.Reason != "only an owner can change an owner's account" {
		t.Errorf("owner refusal: %v", err)
	}
	err = authz.CanManageUser(lead, authz.UsersManage, bobRaised)
	if !errors.As(err, &de) || de.Reason != "they hold calls.history any, above your own department: you may manage only users whose permissions are within yours" {
		t.Errorf("outranked refusal: %v", err)
	}
}

func TestKeepMembers(t *testing.T) {
	// Lena is a lead whose calls.history is also overridden; Ann holds the
	// lead role besides Agent; Bob holds it with Supervisor, who already
	// gives calls.history any; Olivia is an owner holding it too; Carl does
	// not hold it.
	lenaS := authz.NewSubject(access(lena, directory.UserActive, []directory.Role{leadRole}, map[string]string{"calls.history": "own"}, sales))
	annS := subject(ann, agentRole, leadRole)
	bobS := subject(bob, leadRole, supervisorRole)
	oliviaS := subject(olivia, leadRole, ownerRole)
	carlS := subject(carl, agentRole)

	newPerms := maps.Clone(leadRole.Perms)
	newPerms["calls.history"] = "any"       // raised
	newPerms["contacts.view"] = "own"       // lowered
	newPerms["calls.outbound"] = "none"     // lowered
	newPerms["audit.view"] = "any"          // added
	delete(newPerms, "recordings.listen")   // removed
	newPerms["users.manage"] = "department" // unchanged

	keep := authz.KeepMembers([]*authz.Subject{lenaS, annS, bobS, oliviaS, carlS, nil}, newPerms, leadRole.ID)
	want := map[int64]map[string]string{
		lena: {"contacts.view": "department", "calls.outbound": "crm", "audit.view": "none", "recordings.listen": "department"},
		ann:  {"calls.history": "department", "contacts.view": "department", "audit.view": "none", "recordings.listen": "department"},
		bob:  {"contacts.view": "department", "calls.outbound": "crm", "audit.view": "none", "recordings.listen": "department"},
	}
	if !maps.EqualFunc(keep, want, maps.Equal) {
		t.Errorf("keep current members writes overrides:\ngot  %v\nwant %v", keep, want)
	}

	// After the role change with those overrides written, every member's
	// effective permissions are what they were.
	lead2 := leadRole
	lead2.Perms = newPerms
	for _, m := range []struct {
		id       int64
		roles    []directory.Role
		after    []directory.Role
		override map[string]string
	}{
		{lena, []directory.Role{leadRole}, []directory.Role{lead2}, map[string]string{"calls.history": "own"}},
		{ann, []directory.Role{agentRole, leadRole}, []directory.Role{agentRole, lead2}, nil},
		{bob, []directory.Role{leadRole, supervisorRole}, []directory.Role{lead2, supervisorRole}, nil},
	} {
		before := authz.NewSubject(access(m.id, directory.UserActive, m.roles, m.override, sales))
		ov := maps.Clone(m.override)
		if ov == nil {
			ov = map[string]string{}
		}
		maps.Copy(ov, keep[m.id])
		after := authz.NewSubject(access(m.id, directory.UserActive, m.after, ov, sales))
		for _, pi := range authz.Catalog() {
			if b, a := before.Effective(pi.Permission).Scope, after.Effective(pi.Permission).Scope; a != b {
				t.Errorf("keep current members: user %d %s went from %s to %s", m.id, pi.Permission, b, a)
			}
		}
		// Seed 003: reset to role (an empty override map) applies the role as it now is.
		reset := authz.NewSubject(access(m.id, directory.UserActive, m.after, nil, sales))
		if d := reset.Effective(authz.ContactsView); d.Scope != authz.ScopeOwn || d.Source != authz.SourceRole {
			t.Errorf("reset to role: user %d contacts.view %v", m.id, d)
		}
		if d := reset.Effective(authz.AuditView); d.Scope != authz.ScopeAny || d.Source != authz.SourceRole || d.RoleName != "Team lead" {
			t.Errorf("reset to role: user %d audit.view %v, want any from the edited role", m.id, d)
		}
	}

	if keep := authz.KeepMembers([]*authz.Subject{annS}, leadRole.Perms, leadRole.ID); len(keep) != 0 {
		t.Errorf("an unchanged role keeps nothing: %v", keep)
	}
}

// TestAllocs pins that a decision on a prepared subject allocates nothing:
// the SIP router and every list page ask on each request.
func TestAllocs(t *testing.T) {
	lead := subject(lena, agentRole, leadRole)
	staff := subject(carl, staffCallerRole)
	r := call(carl, bob)
	c := contact(0, carl, false)
	// Not visible to Carl: Outbound goes through it to the employee.
	contacts := []directory.Contact{{Phones: []string{"+48601000200"}, AssignedTo: bob}}
	employees := []directory.User{{ID: bob, State: directory.UserActive, Mobile: "+48601000200"}}
	for name, f := range map[string]func(){
		"Effective":   func() { _ = lead.Effective(authz.RecordingsListen) },
		"Can":         func() { _ = authz.Can(lead, authz.RecordingsListen, r) },
		"Can contact": func() { _ = authz.Can(lead, authz.ContactsView, c) },
		"CanDo":       func() { _ = authz.CanDo(lead, authz.CallsHistory) },
		"Visibility":  func() { _ = authz.Visibility(lead, authz.CallsHistory) },
		"Outbound":    func() { _ = authz.Outbound(staff, "+48601000200", contacts, employees) },
	} {
		if n := testing.AllocsPerRun(100, f); n != 0 {
			t.Errorf("%s: %v allocations per decision, want 0", name, n)
		}
	}
	if err := authz.Can(lead, authz.RecordingsListen, r); err != nil {
		t.Errorf("allocation test decides a refusal: %v", err)
	}
	if err := authz.Outbound(staff, "+48601000200", contacts, employees); err != nil {
		t.Errorf("allocation test decides a refusal: %v", err)
	}
}

// FuzzNewSubject feeds stored permission maps with any keys and values: a
// subject is always built, and every effective scope is one its permission
// allows, so a bad row in the database can never grant something undefined.
func FuzzNewSubject(f *testing.F) {
	f.Add("calls.history", "any", "contacts.view", "department")
	f.Add("calls.outbound", "department", "calls.history", "crm")
	f.Add("", "", "users.create", "own")
	f.Fuzz(func(t *testing.T, rk, rv, ok, ov string) {
		s := authz.NewSubject(access(ann, directory.UserActive,
			[]directory.Role{{ID: 9, Name: "fuzz", Perms: map[string]string{rk: rv}}},
			map[string]string{ok: ov}, sales))
		for _, pi := range authz.Catalog() {
			d := s.Effective(pi.Permission)
			if !slices.Contains(pi.Scopes, d.Scope) {
				t.Errorf("%s: effective %s is not one of %v", pi.Permission, d.Scope, pi.Scopes)
			}
		}
		_ = authz.ValidatePerms(map[string]string{rk: rv, ok: ov})
		_, _ = authz.ParseScope(rk, rv)
	})
}

func TestDeniedReason(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{&authz.DeniedError{Permission: authz.RecordingsListen, Reason: "allowed only for your own"}, "recordings.listen: allowed only for your own"},
		{fmt.Errorf("wrapped: %w", &authz.DeniedError{Permission: authz.CallsOutbound, Reason: "no"}), "calls.outbound: no"},
		{errors.New("store down"), "not allowed"},
	} {
		if got := authz.DeniedReason(tc.err); got != tc.want {
			t.Errorf("DeniedReason(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}
