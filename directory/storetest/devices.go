package storetest

import "github.com/switchboard-pbx/switchboard/directory"

var deviceTests = []test{
	{"create, read, update and delete a device", func(e *env) {
		alice, bob := e.user("10001"), e.user("10002")
		d := &directory.Device{MAC: "00:15:65:AB:CD:EF", Vendor: directory.Yealink, Model: "T54W", UserID: alice.ID,
			Label: " Front desk ", TokenHash: "h1", Sealed: "s1"}
		e.ok(e.s.CreateDevice(e.ctx, d), "create device")
		if d.ID == 0 || d.CreatedAt.IsZero() {
			e.t.Fatalf("CreateDevice set no ID or time: %+v", d)
		}
		if d.MAC != "001565abcdef" || d.Label != "Front desk" {
			e.t.Errorf("CreateDevice kept MAC %q label %q, want 001565abcdef and Front desk", d.MAC, d.Label)
		}
		got, err := e.s.Device(e.ctx, d.ID)
		e.ok(err, "device")
		if got.MAC != d.MAC || got.Vendor != d.Vendor || got.Model != "T54W" || got.UserID != alice.ID ||
			got.Label != "Front desk" || got.TokenHash != "h1" || got.Sealed != "s1" || !got.LastFetchAt.IsZero() {
			e.t.Errorf("device read back: %+v", got)
		}
		e.sameTime(got.CreatedAt, d.CreatedAt, "device created")
		byTok, err := e.s.DeviceByToken(e.ctx, "h1")
		e.ok(err, "device by token")
		if byTok.ID != d.ID {
			e.t.Errorf("DeviceByToken h1: device %d, want %d", byTok.ID, d.ID)
		}
		_, err = e.s.DeviceByToken(e.ctx, "nope")
		e.is(err, directory.ErrNotFound, "DeviceByToken unknown")

		d.UserID, d.Vendor, d.TokenHash, d.Sealed, d.MAC = bob.ID, directory.Snom, "h2", "s2", "00-04-13-00-00-01"
		e.ok(e.s.UpdateDevice(e.ctx, d), "update device")
		got, _ = e.s.Device(e.ctx, d.ID)
		if got.UserID != bob.ID || got.Vendor != directory.Snom || got.TokenHash != "h2" || got.MAC != "000413000001" {
			e.t.Errorf("device after update: %+v", got)
		}
		at := fixedTime()
		e.ok(e.s.DeviceFetched(e.ctx, d.ID, at, "192.0.2.7"), "device fetched")
		got, _ = e.s.Device(e.ctx, d.ID)
		e.sameTime(got.LastFetchAt, at, "last fetch")
		if got.LastFetchIP != "192.0.2.7" {
			e.t.Errorf("last fetch IP %q, want 192.0.2.7", got.LastFetchIP)
		}
		e.ok(e.s.DeleteDevice(e.ctx, d.ID), "delete device")
		_, err = e.s.Device(e.ctx, d.ID)
		e.is(err, directory.ErrNotFound, "deleted device")
		e.is(e.s.DeleteDevice(e.ctx, d.ID), directory.ErrNotFound, "delete again")
		e.is(e.s.DeviceFetched(e.ctx, d.ID, at, "x"), directory.ErrNotFound, "fetched after delete")
	}},
	{"device rules: MAC unique and well-formed, known vendor, existing user", func(e *env) {
		alice := e.user("10001")
		e.ok(e.s.CreateDevice(e.ctx, &directory.Device{MAC: "001565abcdef", Vendor: directory.Yealink,
			UserID: alice.ID, TokenHash: "h1"}), "first device")
		e.conflict(e.s.CreateDevice(e.ctx, &directory.Device{MAC: "00:15:65:ab:cd:ef", Vendor: directory.Snom,
			UserID: alice.ID, TokenHash: "h2"}), "mac", "same MAC written otherwise")
		e.invalid(e.s.CreateDevice(e.ctx, &directory.Device{MAC: "00:15:65:ab:cd", Vendor: directory.Snom,
			UserID: alice.ID, TokenHash: "h3"}), "mac", "short MAC")
		e.invalid(e.s.CreateDevice(e.ctx, &directory.Device{MAC: "001565abcdee", Vendor: "cisco",
			UserID: alice.ID, TokenHash: "h4"}), "vendor", "unknown vendor")
		e.invalid(e.s.CreateDevice(e.ctx, &directory.Device{MAC: "001565abcdee", Vendor: directory.Snom,
			UserID: 999999, TokenHash: "h5"}), "user_id", "unknown user")
		// Softphones have no MAC: two of them do not conflict.
		for _, h := range []string{"h6", "h7"} {
			e.ok(e.s.CreateDevice(e.ctx, &directory.Device{Vendor: directory.Linphone, UserID: alice.ID, TokenHash: h}),
				"softphone %s", h)
		}
		ds, err := e.s.Devices(e.ctx, directory.DeviceFilter{Vis: all})
		e.ok(err, "devices")
		if len(ds) != 3 {
			e.t.Errorf("Devices: %d, want 3 (a failed create stored something?)", len(ds))
		}
	}},
	{"Devices filter by visibility and user", func(e *env) {
		alice, bob, carol := e.user("10001"), e.user("10002"), e.user("10003")
		for i, u := range []*directory.User{alice, bob, bob} {
			d := &directory.Device{MAC: "00156500000" + string(rune('1'+i)), Vendor: directory.Grandstream,
				UserID: u.ID, TokenHash: "t" + string(rune('1'+i))}
			e.ok(e.s.CreateDevice(e.ctx, d), "device %d", i)
		}
		count := func(f directory.DeviceFilter) int {
			ds, err := e.s.Devices(e.ctx, f)
			e.ok(err, "devices %+v", f)
			for _, d := range ds {
				if f.UserID != 0 && d.UserID != f.UserID {
					e.t.Errorf("Devices of user %d listed device of %d", f.UserID, d.UserID)
				}
			}
			return len(ds)
		}
		for _, c := range []struct {
			name string
			f    directory.DeviceFilter
			n    int
		}{
			{"all", directory.DeviceFilter{Vis: all}, 3},
			{"zero visibility", directory.DeviceFilter{}, 0},
			{"bob's scope", directory.DeviceFilter{Vis: directory.Visibility{UserIDs: []int64{bob.ID}}}, 2},
			{"carol's scope", directory.DeviceFilter{Vis: directory.Visibility{UserIDs: []int64{carol.ID}}}, 0},
			{"alice's, all visible", directory.DeviceFilter{UserID: alice.ID, Vis: all}, 1},
			{"alice's, in bob's scope", directory.DeviceFilter{UserID: alice.ID,
				Vis: directory.Visibility{UserIDs: []int64{bob.ID}}}, 0},
			{"page of one", directory.DeviceFilter{Vis: all, Page: directory.Page{Number: 3, Size: 1}}, 1},
		} {
			if n := count(c.f); n != c.n {
				e.t.Errorf("Devices %s: %d, want %d", c.name, n, c.n)
			}
		}
	}},
}
