package authz

import "github.com/switchboard-pbx/switchboard/directory"

// CanLogin decides whether u may use the web UI and the API: only an active
// account may. A blocked account is refused but keeps SIP; a
// deleted one is refused. The web must answer a refused login exactly as a
// wrong password, so that no one learns which accounts exist.
func CanLogin(u *directory.User) error {
	switch {
	case u == nil:
		return deny("", "no such account")
	case u.State.CanLogin():
		return nil
	case u.State == directory.UserBlocked:
		return deny("", "the account is blocked")
	case u.State == directory.UserDeleted:
		return deny("", "the account is deleted")
	}
	return deny("", "the account is in an unknown state")
}

// CanUseSIP decides whether u's extension may register and call: a blocked
// user keeps their phone (blocking takes only the web panel), a
// deleted one loses it at once.
func CanUseSIP(u *directory.User) error {
	switch {
	case u == nil:
		return deny("", "no such account")
	case u.State.CanUseSIP():
		return nil
	case u.State == directory.UserDeleted:
		return deny("", "the account is deleted")
	}
	return deny("", "the account is in an unknown state")
}
