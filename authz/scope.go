package authz

import "strconv"

// Scope is how far a permission reaches. Scopes are ordered within each
// permission's list: none < own < department < any, and for
// calls.outbound none < crm < crm_and_employees < any. The numeric values
// interleave the two lists so that < holds within either of them; scopes of
// different lists are never compared, because ParseScope accepts for each
// permission only its own.
type Scope uint8

// Scopes. The zero Scope is none.
const (
	ScopeNone            Scope = 0
	ScopeOwn             Scope = 1 // resources the user takes part in
	ScopeCRM             Scope = 2 // calls.outbound: numbers of CRM contacts the user can see
	ScopeDepartment      Scope = 3 // own plus resources of the user's department, subgroups included
	ScopeCRMAndEmployees Scope = 4 // calls.outbound: crm plus employees' numbers
	ScopeAny             Scope = 5 // everything
)

var scopeNames = [...]string{"none", "own", "crm", "department", "crm_and_employees", "any"}

// String returns the scope's name as stored in roles and overrides.
func (s Scope) String() string {
	if int(s) < len(scopeNames) {
		return scopeNames[s]
	}
	return "scope(" + strconv.Itoa(int(s)) + ")"
}

// MarshalText makes a Scope appear by name in JSON.
func (s Scope) MarshalText() ([]byte, error) { return []byte(s.String()), nil }
