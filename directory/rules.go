package directory

import "slices"

// The rules below decide what an argument of a Store method means where a
// backend could otherwise choose; both backends call them before they write,
// and directory/storetest pins each.

// Invalid references a store reports the same way whichever backend finds
// them (a lookup or a foreign key).
var (
	ErrUnknownRole  error = &InvalidError{Field: "roles", Rule: "unknown role"}
	ErrUnknownGroup error = &InvalidError{Field: "groups", Rule: "unknown group"}
)

// CheckNew applies the rules of CreateUser and CreateUsers to u before a
// store writes it: an empty State is active, and a user is created active
// or blocked, never deleted (deleting is SetUserState's); the extension is
// required; the email is normalized (NormalizeEmail); RoleIDs and GroupIDs
// are sorted without duplicates, every ID must be positive. Empty RoleIDs
// mean the default role (setting users.default_role) and empty GroupIDs the
// default group: the store fills those in.
func (u *User) CheckNew() error {
	var errs fieldErrors
	if u.State == "" {
		u.State = UserActive
	}
	if u.State != UserActive && u.State != UserBlocked {
		errs.add(invalid("state", "must be active or blocked"))
	}
	if u.Extension == "" {
		errs.add(invalid("extension", "is required"))
	}
	u.Email = NormalizeEmail(u.Email)
	var err error
	if u.RoleIDs, err = sortIDs(u.RoleIDs, ErrUnknownRole); err != nil {
		errs.add(err)
	}
	if u.GroupIDs, err = sortIDs(u.GroupIDs, ErrUnknownGroup); err != nil {
		errs.add(err)
	}
	return errs.err()
}

// sortIDs returns ids sorted without duplicates (nil when empty), or
// unknown when one of them is not positive: no row has such an ID.
func sortIDs(ids []int64, unknown error) ([]int64, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	out := slices.Clone(ids)
	slices.Sort(out)
	if out[0] <= 0 {
		return nil, unknown
	}
	return slices.Compact(out), nil
}

// CheckLists applies the rule of UpdateUser for the RoleIDs and GroupIDs a
// patch sets: sorted without duplicates, every ID positive, and not empty.
// A user keeps at least one role and one group: an empty list is refused
// rather than read as "the default", because the caller checked the roles
// it passes against the editor's own scopes (authz.CanAssignRoles), not
// the default role. Stores call it after Validate; it is apart from
// Validate so that a caller asks authz about the change before the store
// says what is wrong with it.
func (p *UserPatch) CheckLists() error {
	var errs fieldErrors
	if p.RoleIDs != nil {
		ids, err := sortIDs(*p.RoleIDs, ErrUnknownRole)
		switch {
		case err != nil:
			errs.add(err)
		case len(ids) == 0:
			errs.add(invalid("roles", "at least one role is required"))
		default:
			p.RoleIDs = &ids
		}
	}
	if p.GroupIDs != nil {
		ids, err := sortIDs(*p.GroupIDs, ErrUnknownGroup)
		switch {
		case err != nil:
			errs.add(err)
		case len(ids) == 0:
			errs.add(invalid("groups", "at least one group is required"))
		default:
			p.GroupIDs = &ids
		}
	}
	return errs.err()
}

// Apply copies the fields p sets onto u (not its roles and groups, which
// live in tables of their own): what UpdateUser writes. Call Validate
// first.
func (p *UserPatch) Apply(u *User) {
	for _, f := range []struct {
		dst *string
		src *string
	}{
		{&u.Name, p.Name}, {&u.Email, p.Email}, {&u.Mobile, p.Mobile}, {&u.CallerID, p.CallerID},
		{&u.Notes, p.Notes}, {&u.Language, p.Language}, {&u.TimeZone, p.TimeZone},
	} {
		if f.src != nil {
			*f.dst = *f.src
		}
	}
	if p.HideNumber != nil {
		u.HideNumber = *p.HideNumber
	}
	p.ApplyForward(&u.Forward)
}
