package directory

import (
	"context"
	"time"
)

// Store is the system of record. Both backends implement it and pass
// directory/storetest. Every method returns the errors of errors.go (wrapped
// with what it was doing): ErrNotFound, ErrConflict (as a *ConflictError),
// ErrInvalid (as an *InvalidError) and ErrUnavailable when the database
// cannot answer.
//
// Rules the stores enforce in the database, so that two nodes sharing one
// PostgreSQL cannot race past them: extension numbers unique across users
// and groups, emails unique among users not deleted, the last owner, group
// prefixes, groups deleted only when empty, roles deleted only when unused.
type Store interface {
	UserStore
	GroupStore
	RoleStore
	ContactStore
	CallStore
	RecordingStore
	KeyedStore
	BindingStore
	BanStore
	SettingStore
	AuditStore
	ChangeStore
	SessionStore
	TokenStore
	DeviceStore
	InviteStore
	ScheduleStore
	VoicemailStore
	QueueStore
	IVRStore
	// Ping reports whether the database answers.
	Ping(ctx context.Context) error
	Close() error
}

// UserStore keeps accounts.
type UserStore interface {
	// CreateUser stores u (its secrets already hashed) and sets u.ID, the
	// times, its roles and groups. It applies User.CheckNew first: an empty
	// State is active and a user is created active or blocked, never
	// deleted; the extension is required; the email is normalized. Empty
	// RoleIDs get the default role (setting users.default_role), empty
	// GroupIDs the default group; an ID that names no role or group is
	// ErrUnknownRole or ErrUnknownGroup. A user put into a group with a
	// prefix must have an extension that starts with it.
	CreateUser(ctx context.Context, u *User) error
	// CreateUsers stores each of us as CreateUser does, in order and in one
	// transaction: when one is refused none is stored, and the error holds
	// a *RowError with the index of the refused user (errors.As).
	CreateUsers(ctx context.Context, us []*User) error
	// User returns a user in any state, deleted ones too (history shows them).
	User(ctx context.Context, id int64) (*User, error)
	// UserByEmail and UserByExtension find users that are not deleted;
	// the email is compared normalized (NormalizeEmail), the extension as
	// it is.
	UserByEmail(ctx context.Context, email string) (*User, error)
	UserByExtension(ctx context.Context, ext string) (*User, error)
	// SIPAccount returns who holds extension ext (a user not deleted), in
	// which state and with which digest secret: the little the registrar
	// checks at every request, read by one small query. ErrNotFound when
	// no such user holds it.
	SIPAccount(ctx context.Context, ext string) (*SIPAccount, error)
	// Users lists the users f selects (f.Search: see UserFilter) by name as
	// Fold reads it ("Łukasz" among the L's, in byte order whatever the
	// database's collation), then email, then ID; CountUsers counts the
	// same selection.
	Users(ctx context.Context, f UserFilter) ([]User, error)
	CountUsers(ctx context.Context, f UserFilter) (int, error)
	// SIPUsers returns every user that is not deleted, with its SIP secret,
	// by ID: what the registrar's credential cache loads at start.
	SIPUsers(ctx context.Context) ([]User, error)
	// Employees returns the users that are not deleted whose extension or
	// mobile number is number, compared exactly (an E.164 number or an
	// extension, as the router has it), by ID (the "employees" outbound
	// rule). An empty number finds nobody.
	Employees(ctx context.Context, number string) ([]User, error)
	// UpdateUser changes the fields p sets (UserPatch.Apply) of a user that
	// is not deleted and returns the user. RoleIDs and GroupIDs, when set,
	// replace the user's roles and groups; an empty list is refused
	// (UserPatch.CheckLists: ErrInvalid, field roles or groups) and changes
	// nothing, since a user keeps at least one of each and the caller
	// checked the roles it passes, not the default. Taking Owner from the last active owner is
	// ErrLastOwner; a group the user is newly put in must have a prefix the
	// extension starts with.
	UpdateUser(ctx context.Context, id int64, p UserPatch) (*User, error)
	// SetUserState blocks, unblocks or deletes. Deleting frees the email and
	// extension for reuse and drops the user's bindings in the same
	// transaction. The last active owner can be neither blocked nor deleted.
	SetUserState(ctx context.Context, id int64, s UserState) error
	SetPasswordHash(ctx context.Context, id int64, hash string) error
	SetSIPSecret(ctx context.Context, id int64, s SIPSecret) error
	// SetOverrides replaces the user's permission overrides; an empty map
	// resets the user to their roles.
	SetOverrides(ctx context.Context, id int64, perms map[string]string) error
	// Access gathers what authz needs to decide for the user.
	Access(ctx context.Context, id int64) (*Access, error)
	// HasOwner reports whether an owner that is not deleted exists.
	HasOwner(ctx context.Context) (bool, error)
}

// GroupStore keeps the group tree and its members.
type GroupStore interface {
	// CreateGroup stores g and sets g.ID. The parent must exist.
	CreateGroup(ctx context.Context, g *Group) error
	Group(ctx context.Context, id int64) (*Group, error)
	GroupByExtension(ctx context.Context, ext string) (*Group, error)
	// Groups returns every group, parents before children.
	Groups(ctx context.Context) ([]Group, error)
	DefaultGroup(ctx context.Context) (*Group, error)
	// UpdateGroup changes name, parent, extension and prefix. The default
	// group cannot be renamed; a group cannot move under its own subtree.
	UpdateGroup(ctx context.Context, g *Group) error
	// DeleteGroup deletes a group with no members (that are not deleted)
	// and no subgroups; the default group cannot be deleted.
	DeleteGroup(ctx context.Context, id int64) error
	// GroupMembers returns the IDs of the group's users that are not deleted.
	GroupMembers(ctx context.Context, id int64) ([]int64, error)
	AddMember(ctx context.Context, groupID, userID int64) error
	RemoveMember(ctx context.Context, groupID, userID int64) error
}

// RoleStore keeps roles and who holds them.
type RoleStore interface {
	CreateRole(ctx context.Context, r *Role) error
	Role(ctx context.Context, id int64) (*Role, error)
	RoleByBuiltin(ctx context.Context, builtin string) (*Role, error)
	Roles(ctx context.Context) ([]Role, error)
	// UpdateRole changes the name (not of built-ins) and permissions (not of
	// Owner). keep holds overrides to write first for users who are to keep
	// their present values ("keep current members as they are");
	// nil applies the change to every member live. One transaction.
	UpdateRole(ctx context.Context, r *Role, keep map[int64]map[string]string) error
	// DeleteRole deletes a custom role that no user (not deleted) holds and
	// that is not the default role.
	DeleteRole(ctx context.Context, id int64) error
	// RoleMembers returns the IDs of users (not deleted) holding the role.
	RoleMembers(ctx context.Context, id int64) ([]int64, error)
}

// ContactStore keeps the CRM contacts.
type ContactStore interface {
	// CreateContact stores c (Contact.Validate already applied) with its
	// phones in the order given, and sets c.ID and the times. An assignee
	// or creator that is no user is an *InvalidError on assigned_to or
	// created_by.
	CreateContact(ctx context.Context, c *Contact) error
	Contact(ctx context.Context, id int64) (*Contact, error)
	// Contacts lists the contacts f selects (f.Search and f.Phone: see
	// ContactFilter) by name as Fold reads it, then company, then ID.
	Contacts(ctx context.Context, f ContactFilter) ([]Contact, error)
	// UpdateContact replaces every field of contact c.ID and its phones,
	// but not its creator and creation time, which it fills into c.
	UpdateContact(ctx context.Context, c *Contact) error
	DeleteContact(ctx context.Context, id int64) error
	// ContactsByPhone returns every contact with the E.164 number, compared
	// exactly, ordered as Contacts.
	ContactsByPhone(ctx context.Context, phone string) ([]Contact, error)
}

// CallStore keeps the call history.
type CallStore interface {
	CreateCall(ctx context.Context, c *Call) error
	// UpdateCall rewrites every field of call c.ID but its SIP Call-ID
	// and start: a call stored when it was answered gets its end.
	UpdateCall(ctx context.Context, c *Call) error
	Call(ctx context.Context, id int64) (*Call, error)
	// Calls lists newest first (start, then ID), filtered in the database
	// (f.Number: see CallFilter.NumberSearch; f.GroupID: the group's direct
	// members, not its subgroups').
	Calls(ctx context.Context, f CallFilter) ([]Call, error)
	CountCalls(ctx context.Context, f CallFilter) (int, error)
}

// RecordingStore keeps recording metadata.
type RecordingStore interface {
	// CreateRecording stores the metadata of a recording of call r.CallID
	// (ErrUnknownCall when there is none) after Recording.Check (an empty
	// State is "recording"), and sets r.ID, the times and the call's
	// caller and callee.
	CreateRecording(ctx context.Context, r *Recording) error
	// UpdateRecording writes every field of recording r.ID (after
	// Recording.Check) but its call and creation time, and fills r in as
	// stored.
	UpdateRecording(ctx context.Context, r *Recording) error
	Recording(ctx context.Context, id int64) (*Recording, error)
	Recordings(ctx context.Context, f RecordingFilter) ([]Recording, error)
}

// BindingStore persists SIP registrations so that a restart keeps them and
// nodes sharing PostgreSQL see each other's.
type BindingStore interface {
	// PutBinding inserts or replaces the binding of (Extension, Contact).
	// Binding changes are logged with b.Node so a node can skip its own.
	PutBinding(ctx context.Context, b Binding) error
	// PutBindings does what PutBinding does for each of bs, in order, in
	// one transaction: the registrar's group commit.
	PutBindings(ctx context.Context, bs []Binding) error
	// DeleteBinding removes the binding of (b.Extension, b.Contact).
	DeleteBinding(ctx context.Context, b Binding) error
	// DeleteBindings removes every binding of ext; node is logged with it.
	DeleteBindings(ctx context.Context, ext, node string) error
	// Bindings returns the bindings that expire after now.
	Bindings(ctx context.Context, now time.Time) ([]Binding, error)
	// DeleteExpiredBindings removes bindings that expired at or before now.
	DeleteExpiredBindings(ctx context.Context, now time.Time) (int, error)
}

// BanStore keeps the SIP guard's bans so that every node sharing the store
// enforces them and a restart does not lift them early.
type BanStore interface {
	// PutBan validates b (ValidateBan) and inserts or replaces the ban of
	// (b.Source, b.Extension). A zero b.Created is stored as now. It logs a
	// ChangeBan with b.Node, so that a node can skip its own.
	PutBan(ctx context.Context, b Ban) error
	// Bans returns the bans that expire after now, by source and extension.
	Bans(ctx context.Context, now time.Time) ([]Ban, error)
	// DeleteBans lifts every ban of the IP address ip (extension locks
	// too), expired or not, and returns how many it removed. It logs a
	// ChangeUnban when it removed any.
	DeleteBans(ctx context.Context, ip string) (int, error)
	// DeleteExpiredBans removes the bans that expired at or before now. It
	// logs no change: every node knows the expiry times.
	DeleteExpiredBans(ctx context.Context, now time.Time) (int, error)
}

// SettingStore keeps key/value settings.
type SettingStore interface {
	// Setting returns the value of key, or its default from SettingDefaults
	// ("" when it has none).
	Setting(ctx context.Context, key string) (string, error)
	// SetSetting validates and writes a value (ValidateSetting).
	SetSetting(ctx context.Context, key, value string) error
	// Settings returns every key with a value or a default.
	Settings(ctx context.Context) (map[string]string, error)
}

// AuditStore keeps the audit log, which is append-only.
type AuditStore interface {
	// Audit appends e, chained to the last entry (AuditEntry.ChainHash), and
	// sets its ID, time (now when zero), PrevHash and Hash.
	Audit(ctx context.Context, e *AuditEntry) error
	AuditLog(ctx context.Context, f AuditFilter) ([]AuditEntry, error)
	// AuditRange returns up to limit entries with IDs above afterID, in ID
	// order (AuditChain walks them).
	AuditRange(ctx context.Context, afterID int64, limit int) ([]AuditEntry, error)
}
