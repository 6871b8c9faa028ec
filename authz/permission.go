package authz

import (
	"errors"
	"slices"
	"strings"

	"github.com/switchboard-pbx/switchboard/directory"
)

// Permission names one thing a user may be allowed to do. Roles and
// overrides map permission names to scope names (see directory.Role.Perms).
type Permission string

// The permission catalog. Adding one means: a constant here, a row in
// catalog and in index, a migration in both backends, cases in the tests.
const (
	CallsHistory       Permission = "calls.history"       // call history and statistics (seeds 000, 001)
	RecordingsListen   Permission = "recordings.listen"   // play recordings in the page (seeds 001, 002)
	RecordingsDownload Permission = "recordings.download" // download the WAV file
	RecordingsDelete   Permission = "recordings.delete"   // delete recordings
	CallsOutbound      Permission = "calls.outbound"      // call numbers outside the PBX
	CallsMonitor       Permission = "calls.monitor"       // live calls: listen, whisper, barge
	CallsControl       Permission = "calls.control"       // act on others' calls: take over, pick up
	UsersView          Permission = "users.view"          // see users and their settings (seeds 001, 002)
	UsersManage        Permission = "users.manage"        // change users' settings, roles and overrides (seeds 001, 002)
	UsersCreate        Permission = "users.create"        // create, block and delete accounts (seeds 000, 004)
	GroupsManage       Permission = "groups.manage"       // edit the group tree and memberships
	RolesManage        Permission = "roles.manage"        // create and edit roles
	NumbersManage      Permission = "numbers.manage"      // trunk numbers and DIDs
	SettingsTelephony  Permission = "settings.telephony"  // trunk, recording policy, default role
	AuditView          Permission = "audit.view"          // read the audit log
	ContactsView       Permission = "contacts.view"       // see CRM contacts (seeds 000, 003)
	ContactsManage     Permission = "contacts.manage"     // create and edit CRM contacts
	ContactsDelete     Permission = "contacts.delete"     // delete CRM contacts
	PresenceObserve    Permission = "presence.observe"    // see others' status: busy lamps, presence, dashboard
	PresenceShare      Permission = "presence.share"      // let others see one's own status
	CallsShare         Permission = "calls.share"         // let watchers see who one is talking to
	CallsIntercom      Permission = "calls.intercom"      // intercom (*90EXT) and paging (*91GROUP): the callee's phone answers itself; decided on each callee
	CallsPark          Permission = "calls.park"          // park calls; retrieve those parked by users in scope
	IVRControl         Permission = "ivr.control"         // office hours and after-hours routing, and (scope any) the IVR menus
	QueuesView         Permission = "queues.view"         // the live board and statistics of call queues (migration 00017)
	QueuesManage       Permission = "queues.manage"       // create and edit call queues, their agents and agents' login state (migration 00017)
)

// numPerms is the size of the catalog; a Subject holds one decision per
// permission in an array of this size.
const numPerms = 26

// kindSet is the set of resource kinds a permission is decided on, one bit
// per Kind.
type kindSet uint8

func kinds(ks ...Kind) kindSet {
	var s kindSet
	for _, k := range ks {
		s |= 1 << k
	}
	return s
}

func (s kindSet) has(k Kind) bool { return s&(1<<k) != 0 }

const allKinds kindSet = 0xff

var (
	scoped   = []Scope{ScopeNone, ScopeOwn, ScopeDepartment, ScopeAny}
	onOff    = []Scope{ScopeNone, ScopeAny}
	outbound = []Scope{ScopeNone, ScopeCRM, ScopeCRMAndEmployees, ScopeAny}
	monitor  = []Scope{ScopeNone, ScopeDepartment, ScopeAny}
	deletion = []Scope{ScopeNone, ScopeOwn, ScopeAny}
)

// permDef is one row of the catalog: the permission, its scopes from lowest
// to highest, and the kinds of resources Can decides it on.
type permDef struct {
	p      Permission
	scopes []Scope
	kinds  kindSet
}

// catalog is read-only; index(p) is the position of p in it.
var catalog = [numPerms]permDef{
	{CallsHistory, scoped, kinds(KindCall, KindRecording)},
	{RecordingsListen, scoped, kinds(KindRecording, KindCall)},
	{RecordingsDownload, scoped, kinds(KindRecording, KindCall)},
	{RecordingsDelete, onOff, allKinds},
	{CallsOutbound, outbound, 0}, // decided by Outbound, not Can
	{CallsMonitor, monitor, kinds(KindCall)},
	{UsersView, scoped, kinds(KindUser)},
	{UsersManage, scoped, kinds(KindUser)},
	{UsersCreate, onOff, allKinds},
	{GroupsManage, onOff, allKinds},
	{RolesManage, onOff, allKinds},
	{NumbersManage, onOff, allKinds},
	{SettingsTelephony, onOff, allKinds},
	{AuditView, onOff, allKinds},
	{ContactsView, scoped, kinds(KindContact)},
	{ContactsManage, scoped, kinds(KindContact)},
	{ContactsDelete, deletion, kinds(KindContact)},
	{CallsControl, monitor, kinds(KindCall)},
	// Decided on the user watched (observe), or on the watcher (share:
	// the watched user's subject asks whether the watcher is within it).
	{PresenceObserve, scoped, kinds(KindUser)},
	{PresenceShare, monitor, kinds(KindUser)},
	{CallsShare, monitor, kinds(KindUser)},
	{CallsIntercom, monitor, kinds(KindUser)},
	// Decided on a parked call by who parked it: own retrieves only one's
	// own, department those of one's groups, any every one; any scope
	// above none may park.
	{CallsPark, scoped, kinds(KindCall)},
	{IVRControl, monitor, kinds(KindSchedule)}, // department: their groups' office hours
	// Department: the queues of one's groups and their subgroups; any:
	// every queue, company-wide ones too.
	{QueuesView, monitor, kinds(KindQueue)},
	{QueuesManage, monitor, kinds(KindQueue)},
}

// index returns the position of p in catalog, or -1 for an unknown
// permission. A switch on strings compiles to a few comparisons and does not
// allocate, unlike building a map key.
func index(p Permission) int {
	switch p {
	case CallsHistory:
		return 0
	case RecordingsListen:
		return 1
	case RecordingsDownload:
		return 2
	case RecordingsDelete:
		return 3
	case CallsOutbound:
		return 4
	case CallsMonitor:
		return 5
	case UsersView:
		return 6
	case UsersManage:
		return 7
	case UsersCreate:
		return 8
	case GroupsManage:
		return 9
	case RolesManage:
		return 10
	case NumbersManage:
		return 11
	case SettingsTelephony:
		return 12
	case AuditView:
		return 13
	case ContactsView:
		return 14
	case ContactsManage:
		return 15
	case ContactsDelete:
		return 16
	case CallsControl:
		return 17
	case PresenceObserve:
		return 18
	case PresenceShare:
		return 19
	case CallsShare:
		return 20
	case CallsIntercom:
		return 21
	case CallsPark:
		return 22
	case IVRControl:
		return 23
	case QueuesView:
		return 24
	case QueuesManage:
		return 25
	}
	return -1
}

// PermissionInfo describes one permission of the catalog: its name and the
// scopes it allows, lowest first. The roles page draws its matrix from it and
// the migrations' seeds are checked against it.
type PermissionInfo struct {
	Permission Permission
	Scopes     []Scope
}

// Highest returns the highest scope the permission allows (what an owner has).
func (pi PermissionInfo) Highest() Scope { return pi.Scopes[len(pi.Scopes)-1] }

// Catalog returns every permission in a stable order with its allowed
// scopes. The result is the caller's to keep.
func Catalog() []PermissionInfo {
	out := make([]PermissionInfo, len(catalog))
	for i, d := range catalog {
		out[i] = PermissionInfo{Permission: d.p, Scopes: append([]Scope(nil), d.scopes...)}
	}
	return out
}

// ParseScope returns the scope named s for permission p, or a
// *directory.InvalidError naming p and the scopes it allows.
func ParseScope(p, s string) (Scope, error) {
	i := index(Permission(p))
	if i < 0 {
		return ScopeNone, &directory.InvalidError{Field: p, Rule: "is not a known permission"}
	}
	if sc, ok := scopeIn(i, s); ok {
		return sc, nil
	}
	return ScopeNone, &directory.InvalidError{Field: p, Rule: "must be one of " + scopeList(catalog[i].scopes)}
}

// scopeIn parses s among the scopes permission i allows.
func scopeIn(i int, s string) (Scope, bool) {
	for _, sc := range catalog[i].scopes {
		if sc.String() == s {
			return sc, true
		}
	}
	return ScopeNone, false
}

// storedScope reads the scope of permission i from a stored map; a missing,
// unknown or invalid value counts as none, so that a bad row grants nothing.
func storedScope(perms map[string]string, i int) Scope {
	v, ok := perms[string(catalog[i].p)]
	if !ok {
		return ScopeNone
	}
	sc, _ := scopeIn(i, v)
	return sc
}

func scopeList(scopes []Scope) string {
	names := make([]string, len(scopes))
	for i, s := range scopes {
		names[i] = s.String()
	}
	return strings.Join(names, ", ")
}

// ValidatePerms checks a role's or a user's permission map: every key must be
// a known permission and every value one of its scopes. Missing permissions
// are allowed and mean none. All mistakes are joined, each a
// *directory.InvalidError, in catalog order then by name.
func ValidatePerms(perms map[string]string) error {
	var errs []error
	for _, d := range catalog {
		if v, ok := perms[string(d.p)]; ok {
			if _, err := ParseScope(string(d.p), v); err != nil {
				errs = append(errs, err)
			}
		}
	}
	var unknown []string
	for k := range perms {
		if index(Permission(k)) < 0 {
			unknown = append(unknown, k)
		}
	}
	slices.Sort(unknown)
	for _, k := range unknown {
		errs = append(errs, &directory.InvalidError{Field: k, Rule: "is not a known permission"})
	}
	return errors.Join(errs...)
}

// BuiltinPerms returns the permissions the migrations seed for a built-in
// role (directory.BuiltinOwner, BuiltinAdmin, BuiltinAgent), or nil for any
// other name. Owner holds every permission at its highest scope; Admin all
// history, contacts and settings but cannot create accounts or roles;
// Agent their own history, recordings and contacts, and
// outside numbers only when they are CRM contacts or employees. The map
// is the caller's to keep.
func BuiltinPerms(builtin string) map[string]string {
	switch builtin {
	case directory.BuiltinOwner:
		m := make(map[string]string, numPerms)
		for _, d := range catalog {
			m[string(d.p)] = d.scopes[len(d.scopes)-1].String()
		}
		return m
	case directory.BuiltinAdmin:
		return map[string]string{
			string(CallsHistory):       "any",
			string(RecordingsListen):   "any",
			string(RecordingsDownload): "any",
			string(RecordingsDelete):   "none",
			string(CallsOutbound):      "any",
			string(CallsMonitor):       "any",
			string(CallsControl):       "any",
			string(UsersView):          "any",
			string(UsersManage):        "any",
			string(UsersCreate):        "none", // admins cannot add accounts
			string(GroupsManage):       "any",
			string(RolesManage):        "none", // only the main administrator creates roles
			string(NumbersManage):      "any",
			string(SettingsTelephony):  "any",
			string(AuditView):          "any",
			string(ContactsView):       "any",
			string(ContactsManage):     "any",
			string(ContactsDelete):     "any",
			string(PresenceObserve):    "any",
			string(PresenceShare):      "any",
			string(CallsShare):         "any",
			string(CallsIntercom):      "any",
			string(CallsPark):          "any",
			string(IVRControl):         "any",
			string(QueuesView):         "any",
			string(QueuesManage):       "any",
		}
	case directory.BuiltinAgent:
		return map[string]string{
			string(CallsHistory):       "own", // own call history only
			string(RecordingsListen):   "own",
			string(RecordingsDownload): "none",
			string(RecordingsDelete):   "none",
			string(CallsOutbound):      "crm_and_employees", // until an admin allows more: no toll fraud from a new phone
			string(CallsControl):       "none",
			string(CallsMonitor):       "none",
			string(UsersView):          "own",
			string(UsersManage):        "own",
			string(UsersCreate):        "none",
			string(GroupsManage):       "none",
			string(RolesManage):        "none",
			string(NumbersManage):      "none",
			string(SettingsTelephony):  "none",
			string(AuditView):          "none",
			string(ContactsView):       "own", // assigned to them or unassigned
			string(ContactsManage):     "own",
			string(ContactsDelete):     "own",        // only their own
			string(PresenceObserve):    "department", // a group's members see each other
			string(PresenceShare):      "department",
			string(CallsShare):         "department",
			string(CallsIntercom):      "none", // auto-answer opens a phone without its user: admins opt teams in
			string(CallsPark):          "any",
			string(IVRControl):         "none",
			string(QueuesView):         "none", // agents log in by phone; the board is supervisors'
			string(QueuesManage):       "none",
		}
	}
	return nil
}
