package storetest

import (
	"github.com/switchboard-pbx/switchboard/directory"
)

var forwardTests = []test{
	{"a new user has no forwarding and no DND", func(e *env) {
		u := e.user("10001")
		if got := e.get(u.ID).Forward; got != (directory.Forwarding{}) {
			e.t.Errorf("forwarding of a new user = %+v, want none", got)
		}
	}},
	{"CreateUser and CreateUsers store the forwarding", func(e *env) {
		want := directory.Forwarding{DND: true, Always: "10002", Busy: "+48221234567", NoAnswer: "20000",
			Offline: "0221234567", RingSeconds: 25}
		u := e.draft("10001")
		u.Forward = want
		e.create(u)
		if got := e.get(u.ID).Forward; got != want {
			e.t.Errorf("CreateUser: forwarding read back %+v, want %+v", got, want)
		}
		b := e.draft("10003")
		b.Forward = want
		e.ok(e.s.CreateUsers(e.ctx, []*directory.User{b}), "create users")
		if got := e.get(b.ID).Forward; got != want {
			e.t.Errorf("CreateUsers: forwarding read back %+v, want %+v", got, want)
		}
	}},
	{"UpdateUser sets, keeps and clears forwarding, logging a user change", func(e *env) {
		u := e.user("10001")
		mark := e.mark()
		got, err := e.s.UpdateUser(e.ctx, u.ID, directory.UserPatch{DND: ptr(true), ForwardAlways: ptr(" 10002 "),
			ForwardBusy: ptr("+48 22 123-45-67"), ForwardNoAnswer: ptr("(022) 1234567"), ForwardOffline: ptr("10003"),
			ForwardRingSeconds: ptr(30)})
		e.ok(err, "set forwarding")
		want := directory.Forwarding{DND: true, Always: "10002", Busy: "+48221234567", NoAnswer: "0221234567",
			Offline: "10003", RingSeconds: 30}
		if got.Forward != want {
			e.t.Errorf("returned after setting: %+v, want %+v (normalized)", got.Forward, want)
		}
		if f := e.get(u.ID).Forward; f != want {
			e.t.Errorf("read after setting: %+v, want %+v", f, want)
		}
		e.logged(mark, "setting forwarding", directory.Change{Kind: directory.ChangeUser, ID: u.ID})
		_, err = e.s.UpdateUser(e.ctx, u.ID, directory.UserPatch{Name: ptr("Renamed")})
		e.ok(err, "rename")
		if f := e.get(u.ID).Forward; f != want {
			e.t.Errorf("a patch without forwarding changed it to %+v", f)
		}
		_, err = e.s.UpdateUser(e.ctx, u.ID, directory.UserPatch{DND: ptr(false), ForwardAlways: ptr("")})
		e.ok(err, "DND off, no forward always")
		want.DND, want.Always = false, ""
		if f := e.get(u.ID).Forward; f != want {
			e.t.Errorf("after clearing two fields: %+v, want %+v", f, want)
		}
	}},
	{"a bad forward target or ring time is invalid and changes nothing", func(e *env) {
		u := e.user("10001")
		_, err := e.s.UpdateUser(e.ctx, u.ID, directory.UserPatch{ForwardAlways: ptr("10002")})
		e.ok(err, "set forward always")
		for _, bad := range []string{"abc", "12", "+", "1234567890123456789012", "10002;x", "sip:10002@x"} {
			_, err := e.s.UpdateUser(e.ctx, u.ID, directory.UserPatch{ForwardAlways: ptr(bad), Name: ptr("Changed")})
			e.invalid(err, "forward_always", "forward always %q", bad)
		}
		_, err = e.s.UpdateUser(e.ctx, u.ID, directory.UserPatch{ForwardBusy: ptr("x")})
		e.invalid(err, "forward_busy", "forward busy x")
		_, err = e.s.UpdateUser(e.ctx, u.ID, directory.UserPatch{ForwardNoAnswer: ptr("x")})
		e.invalid(err, "forward_no_answer", "forward no answer x")
		_, err = e.s.UpdateUser(e.ctx, u.ID, directory.UserPatch{ForwardOffline: ptr("x")})
		e.invalid(err, "forward_offline", "forward offline x")
		for _, bad := range []int{-1, 1, 4, 301} {
			_, err := e.s.UpdateUser(e.ctx, u.ID, directory.UserPatch{ForwardRingSeconds: ptr(bad)})
			e.invalid(err, "forward_ring_seconds", "ring seconds %d", bad)
		}
		got := e.get(u.ID)
		if got.Forward != (directory.Forwarding{Always: "10002"}) || got.Name == "Changed" {
			e.t.Errorf("after refused patches: %+v, name %q; want only forward always 10002 and the old name",
				got.Forward, got.Name)
		}
	}},
	{"SIPUsers carries the forwarding", func(e *env) {
		u := e.user("10001")
		_, err := e.s.UpdateUser(e.ctx, u.ID, directory.UserPatch{DND: ptr(true), ForwardNoAnswer: ptr("10002")})
		e.ok(err, "set forwarding")
		us, err := e.s.SIPUsers(e.ctx)
		e.ok(err, "sip users")
		for _, x := range us {
			if x.ID == u.ID {
				if !x.Forward.DND || x.Forward.NoAnswer != "10002" {
					e.t.Errorf("SIPUsers: forwarding %+v, want DND and no-answer 10002", x.Forward)
				}
				return
			}
		}
		e.t.Errorf("SIPUsers lacks user %d", u.ID)
	}},
}
