package authz

import (
	"slices"

	"github.com/switchboard-pbx/switchboard/directory"
)

// Reasons for refused outbound calls; the SIP router sends them as the
// reason phrase of its 403 Forbidden.
const (
	ReasonOutboundNone     = "outbound calls are not allowed for you"
	ReasonOutboundCRM      = "number is not a CRM contact you can see"
	ReasonOutboundCRMStaff = "number is neither a CRM contact you can see nor an employee"
)

// Outbound decides whether s may call number (E.164) through the trunk,
// by s's calls.outbound scope:
//   - any: allowed;
//   - crm: allowed when one of contacts has the number and s can see it
//     under contacts.view;
//   - crm_and_employees: that, or one of employees (not deleted) has the
//     number as extension or mobile;
//   - none: refused.
//
// The caller passes the contacts having the number
// (directory.ContactStore.ContactsByPhone) and the employees whose extension
// or mobile it is (directory.UserStore.Employees); for any and none they may
// be nil, so a router can ask Effective(CallsOutbound) first and load them
// only for the crm scopes. Calls from one extension to another, or to a
// group number, are always allowed and the router does not ask: this rule
// is only about numbers outside the PBX.
//
// A refusal is a *DeniedError whose Reason is one of the ReasonOutbound
// phrases. Outbound does not allocate when it allows.
func Outbound(s *Subject, number string, contacts []directory.Contact, employees []directory.User) error {
	switch s.Effective(CallsOutbound).Scope {
	case ScopeAny:
		return nil
	case ScopeCRM:
		if s.seesContact(number, contacts) {
			return nil
		}
		return deny(CallsOutbound, ReasonOutboundCRM)
	case ScopeCRMAndEmployees:
		if s.seesContact(number, contacts) || isEmployee(number, employees) {
			return nil
		}
		return deny(CallsOutbound, ReasonOutboundCRMStaff)
	}
	return deny(CallsOutbound, ReasonOutboundNone)
}

// seesContact reports whether one of contacts has number and s can view it.
// The number is checked again so that a caller passing the wrong contacts
// cannot open the trunk.
func (s *Subject) seesContact(number string, contacts []directory.Contact) bool {
	if number == "" {
		return false
	}
	view := index(ContactsView)
	for i := range contacts {
		c := &contacts[i]
		if slices.Contains(c.Phones, number) && s.allows(view, ContactResource(c)) {
			return true
		}
	}
	return false
}

// isEmployee reports whether a user that is not deleted has number as
// extension or mobile.
func isEmployee(number string, employees []directory.User) bool {
	if number == "" {
		return false
	}
	for i := range employees {
		u := &employees[i]
		if u.State != directory.UserDeleted && (u.Extension == number || u.Mobile == number) {
			return true
		}
	}
	return false
}
