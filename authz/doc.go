// Package authz answers every "may this user…" question in Switchboard: the
// permission catalog, effective scopes, visibility and the outbound-call rule.
// It does no I/O; callers pass in what a decision needs.
//
// A caller loads a user's directory.Access once, turns it into a Subject with
// NewSubject (which resolves every permission up front: owner, then the
// user's own override, then the highest scope among the user's roles), and
// asks the Subject as often as it likes:
//
//   - Can(s, p, r) decides on one resource (a call, recording, user or
//     contact); CanDo(s, p) decides where there is no resource.
//   - Visibility(s, p) is the list filter a store turns into a SQL WHERE, so
//     that a list shows exactly the rows Can would allow one by one.
//   - Outbound(s, number, contacts, employees) decides an outbound call.
//   - CanEditRole, CanAssignRoles and CanSetOverrides refuse any change by
//     which an editor would grant more than they hold themselves.
//   - KeepMembers computes the overrides that keep a role's current members
//     as they are when the role changes.
//
// Refusals are *DeniedError values that unwrap to ErrDenied; invalid scope
// values are *directory.InvalidError values.
package authz
