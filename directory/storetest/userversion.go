package storetest

import (
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
)

var userVersionTests = []test{
	{"every user change advances the user version, binding writes do not", func(e *env) {
		uv, ok := e.s.(directory.UserVersioner)
		if !ok {
			e.t.Skip("the store does not count user changes")
		}
		v := uv.UserVersion()
		advanced := func(what string) {
			e.t.Helper()
			if now := uv.UserVersion(); now <= v {
				e.t.Errorf("%s: user version %d, was %d: want it advanced", what, now, v)
			} else {
				v = now
			}
		}
		u := e.user("10001")
		advanced("CreateUser")
		_, err := e.s.UpdateUser(e.ctx, u.ID, directory.UserPatch{Name: ptr("Anna")})
		e.check(err, "update user")
		advanced("UpdateUser")
		e.check(e.s.SetSIPSecret(e.ctx, u.ID, directory.NewSIPSecret("10001", "x", "Secret-pw1")), "set SIP secret")
		advanced("SetSIPSecret")
		e.check(e.s.SetUserState(e.ctx, u.ID, directory.UserBlocked), "block")
		advanced("SetUserState blocked")

		b := binding("10001", "sip:10001@192.0.2.10:5062", fixedTime().Add(time.Hour))
		e.ok(e.s.PutBindings(e.ctx, []directory.Binding{b}), "put a binding")
		if now := uv.UserVersion(); now != v {
			e.t.Errorf("PutBindings: user version %d, was %d: want it unchanged", now, v)
		}
		e.check(e.s.SetUserState(e.ctx, u.ID, directory.UserDeleted), "delete")
		advanced("SetUserState deleted")
	}},
}
