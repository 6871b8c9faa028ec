package storetest

import (
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
)

var voicemailTests = []test{
	{"a mailbox is disabled until set, then reads back as written", func(e *env) {
		alice := e.user("10001")
		m, err := e.s.Mailbox(e.ctx, alice.ID, 0)
		e.ok(err, "mailbox never set")
		if m.Enabled || m.PINHash != "" || m.UserID != alice.ID {
			e.t.Fatalf("mailbox never set: %+v", m)
		}
		m.Enabled, m.PINHash, m.Greeting, m.ToEmail, m.MaxSeconds = true, "h", "/g.wav", true, 60
		e.ok(e.s.SetMailbox(e.ctx, m), "set mailbox")
		got, err := e.s.Mailbox(e.ctx, alice.ID, 0)
		e.ok(err, "mailbox")
		if !got.Enabled || got.PINHash != "h" || got.Greeting != "/g.wav" || !got.ToEmail || got.MaxSeconds != 60 || got.UpdatedAt.IsZero() {
			e.t.Errorf("mailbox read back: %+v", got)
		}
		m.Enabled, m.ToEmail = false, false
		e.ok(e.s.SetMailbox(e.ctx, m), "set mailbox again")
		got, _ = e.s.Mailbox(e.ctx, alice.ID, 0)
		if got.Enabled || got.ToEmail || got.PINHash != "h" {
			e.t.Errorf("mailbox after second write: %+v", got)
		}
		g := e.group("Sales", 0)
		e.ok(e.s.SetMailbox(e.ctx, &directory.Mailbox{GroupID: g.ID, Enabled: true}), "group mailbox")
		gm, err := e.s.Mailbox(e.ctx, 0, g.ID)
		e.ok(err, "group mailbox")
		if !gm.Enabled {
			e.t.Errorf("group mailbox: %+v", gm)
		}
		e.invalid(e.s.SetMailbox(e.ctx, &directory.Mailbox{UserID: alice.ID, GroupID: g.ID}), "owner", "two owners")
		e.invalid(e.s.SetMailbox(e.ctx, &directory.Mailbox{UserID: 999999}), "owner", "unknown user")
		e.invalid(e.s.SetMailbox(e.ctx, &directory.Mailbox{UserID: alice.ID, MaxSeconds: -1}), "max_seconds", "negative limit")
	}},
	{"messages: newest first, per mailbox, counted, heard, deleted", func(e *env) {
		alice, bob := e.user("10001"), e.user("10002")
		at := fixedTime()
		var ids []int64
		for i, who := range []int64{alice.ID, alice.ID, bob.ID} {
			v := &directory.Voicemail{UserID: who, Caller: "1000" + string(rune('0'+i)), StartedAt: at.Add(time.Duration(i) * time.Minute),
				Duration: 1500 * time.Millisecond, Path: "/spool/vm" + string(rune('0'+i)) + ".wav", SHA256: "abc"}
			e.ok(e.s.CreateVoicemail(e.ctx, v), "create voicemail")
			if v.ID == 0 {
				e.t.Fatal("CreateVoicemail set no ID")
			}
			ids = append(ids, v.ID)
		}
		got, err := e.s.Voicemail(e.ctx, ids[1])
		e.ok(err, "voicemail")
		if got.UserID != alice.ID || got.Caller != "10001" || got.Duration != 1500*time.Millisecond ||
			got.Path != "/spool/vm1.wav" || got.SHA256 != "abc" || got.Heard {
			e.t.Errorf("voicemail read back: %+v", got)
		}
		e.sameTime(got.StartedAt, at.Add(time.Minute), "voicemail started")
		list, err := e.s.Voicemails(e.ctx, directory.VoicemailFilter{UserID: alice.ID, Vis: directory.Visibility{All: true}})
		e.ok(err, "voicemails")
		if len(list) != 2 || list[0].ID != ids[1] || list[1].ID != ids[0] {
			e.t.Errorf("alice's voicemails, newest first: %+v", list)
		}
		list, _ = e.s.Voicemails(e.ctx, directory.VoicemailFilter{Vis: directory.Visibility{UserIDs: []int64{bob.ID}}})
		if len(list) != 1 || list[0].ID != ids[2] {
			e.t.Errorf("voicemails visible to bob's scope: %+v", list)
		}
		e.ok(e.s.SetVoicemailHeard(e.ctx, ids[0], true), "heard")
		c, err := e.s.CountVoicemails(e.ctx, alice.ID, 0)
		e.ok(err, "count")
		if c != (directory.VoicemailCount{New: 1, Old: 1}) {
			e.t.Errorf("alice's count %+v, want 1 new 1 old", c)
		}
		list, _ = e.s.Voicemails(e.ctx, directory.VoicemailFilter{UserID: alice.ID, Unheard: true, Vis: directory.Visibility{All: true}})
		if len(list) != 1 || list[0].ID != ids[1] {
			e.t.Errorf("alice's unheard: %+v", list)
		}
		e.ok(e.s.DeleteVoicemail(e.ctx, ids[1]), "delete")
		_, err = e.s.Voicemail(e.ctx, ids[1])
		e.is(err, directory.ErrNotFound, "deleted voicemail")
		e.is(e.s.DeleteVoicemail(e.ctx, ids[1]), directory.ErrNotFound, "delete again")
		e.is(e.s.SetVoicemailHeard(e.ctx, ids[1], true), directory.ErrNotFound, "heard after delete")
		e.invalid(e.s.CreateVoicemail(e.ctx, &directory.Voicemail{UserID: 999999, Path: "/x.wav"}), "owner", "unknown owner")
		e.invalid(e.s.CreateVoicemail(e.ctx, &directory.Voicemail{UserID: alice.ID}), "path", "no path")
	}},
	{"PIN hashes", func(e *env) {
		h, err := directory.HashPIN("2468")
		e.ok(err, "hash pin")
		if h == "2468" || !directory.CheckPIN(h, "2468") || directory.CheckPIN(h, "2469") || directory.CheckPIN("", "") {
			e.t.Errorf("pin hash %q does not check as it should", h)
		}
		if _, err := directory.HashPIN("12a4"); err == nil {
			e.t.Error("a PIN with a letter was hashed")
		}
	}},
}
