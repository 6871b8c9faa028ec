package storetest

import (
	"slices"
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
)

var queueTests = []test{
	{"create, read, update and delete a queue with members", func(e *env) {
		sales := e.group("Sales", 0)
		a, b, c := e.user("10001"), e.user("10002"), e.user("10003")
		q := &directory.Queue{Number: " 18000 ", Name: " Sales queue ", GroupID: sales.ID, Strategy: "longest_idle",
			MaxWaitSeconds: 120, MaxCallers: 5, WrapUpSeconds: 10, Overflow: "10003", Music: "/var/moh/sales.wav",
			Members: []int64{b.ID, a.ID, b.ID}}
		e.ok(e.s.CreateQueue(e.ctx, q), "create queue")
		if q.ID == 0 || q.CreatedAt.IsZero() || q.Number != "18000" || q.Name != "Sales queue" ||
			q.RingSeconds != directory.DefaultQueueRingSeconds {
			e.t.Fatalf("CreateQueue: %+v", q)
		}
		got, err := e.s.Queue(e.ctx, q.ID)
		e.ok(err, "queue")
		if got.Number != "18000" || got.GroupID != sales.ID || got.Strategy != "longest_idle" || got.MaxWaitSeconds != 120 ||
			got.MaxCallers != 5 || got.WrapUpSeconds != 10 || got.Overflow != "10003" || got.Music != "/var/moh/sales.wav" ||
			got.ServiceLevelSeconds != directory.DefaultQueueServiceLevelSeconds ||
			!slices.Equal(got.Members, []int64{b.ID, a.ID}) {
			e.t.Errorf("queue read back: %+v", got)
		}
		e.sameTime(got.CreatedAt, q.CreatedAt, "queue created")
		byNum, err := e.s.QueueByNumber(e.ctx, "18000")
		e.ok(err, "queue by number")
		if byNum.ID != q.ID {
			e.t.Errorf("QueueByNumber: %+v", byNum)
		}
		_, err = e.s.QueueByNumber(e.ctx, "18001")
		e.is(err, directory.ErrNotFound, "queue by unknown number")

		got.Strategy, got.Members, got.GroupID, got.Number = "ring_all", []int64{c.ID, a.ID}, 0, "18001"
		e.ok(e.s.UpdateQueue(e.ctx, got), "update queue")
		again, _ := e.s.Queue(e.ctx, q.ID)
		if again.Strategy != "ring_all" || again.GroupID != 0 || again.Number != "18001" ||
			!slices.Equal(again.Members, []int64{c.ID, a.ID}) {
			e.t.Errorf("queue after update: %+v", again)
		}
		list, err := e.s.Queues(e.ctx)
		e.ok(err, "queues")
		if len(list) != 1 || list[0].ID != q.ID || len(list[0].Members) != 2 {
			e.t.Errorf("queues: %+v", list)
		}
		e.ok(e.s.DeleteQueue(e.ctx, q.ID), "delete queue")
		_, err = e.s.Queue(e.ctx, q.ID)
		e.is(err, directory.ErrNotFound, "deleted queue")
		e.is(e.s.DeleteQueue(e.ctx, q.ID), directory.ErrNotFound, "delete again")
		e.is(e.s.UpdateQueue(e.ctx, again), directory.ErrNotFound, "update deleted")
	}},
	{"queue numbers do not clash with extensions", func(e *env) {
		e.user("10001")
		e.is(e.s.CreateQueue(e.ctx, &directory.Queue{Number: "10001", Name: "Q"}), directory.ErrQueueNumberTaken,
			"queue on a user's extension")
		g := &directory.Group{Name: "Support", Extension: "17000"}
		e.ok(e.s.CreateGroup(e.ctx, g), "create group")
		e.is(e.s.CreateQueue(e.ctx, &directory.Queue{Number: "17000", Name: "Q"}), directory.ErrQueueNumberTaken,
			"queue on a group's extension")
		q := &directory.Queue{Number: "18000", Name: "Q"}
		e.ok(e.s.CreateQueue(e.ctx, q), "create queue")
		e.is(e.s.CreateQueue(e.ctx, &directory.Queue{Number: "18000", Name: "Q2"}), directory.ErrQueueNumberTaken,
			"second queue on the number")
		e.is(e.s.CreateUser(e.ctx, e.draft("18000")), directory.ErrExtensionTaken, "user on a queue's number")
		e.is(e.s.CreateGroup(e.ctx, &directory.Group{Name: "G", Extension: "18000"}), directory.ErrExtensionTaken,
			"group on a queue's number")
		q2 := &directory.Queue{Number: "18002", Name: "Q2"}
		e.ok(e.s.CreateQueue(e.ctx, q2), "create second queue")
		q2.Number = "10001"
		e.is(e.s.UpdateQueue(e.ctx, q2), directory.ErrQueueNumberTaken, "queue renumbered onto a user")
	}},
	{"queue numbers and menu numbers do not clash", func(e *env) {
		e.ok(e.s.CreateIVRMenu(e.ctx, &directory.IVRMenu{Number: "80000", Name: "Main"}), "menu")
		e.is(e.s.CreateQueue(e.ctx, &directory.Queue{Number: "80000", Name: "Q"}), directory.ErrQueueNumberTaken,
			"queue on a menu's number")
		e.ok(e.s.CreateQueue(e.ctx, &directory.Queue{Number: "18000", Name: "Q"}), "queue")
		e.is(e.s.CreateIVRMenu(e.ctx, &directory.IVRMenu{Number: "18000", Name: "Night"}), directory.ErrExtensionTaken,
			"menu on a queue's number")
		m := &directory.IVRMenu{Number: "80001", Name: "Day"}
		e.ok(e.s.CreateIVRMenu(e.ctx, m), "second menu")
		m.Number = "18000"
		e.is(e.s.UpdateIVRMenu(e.ctx, m), directory.ErrExtensionTaken, "menu renumbered onto a queue")
	}},
	{"queues refuse what is not valid", func(e *env) {
		e.is(e.s.CreateQueue(e.ctx, &directory.Queue{Number: "123", Name: "Q"}), directory.ErrInvalid, "short number")
		e.is(e.s.CreateQueue(e.ctx, &directory.Queue{Number: "18000", Name: "Q", Strategy: "random"}),
			directory.ErrInvalid, "unknown strategy")
		e.is(e.s.CreateQueue(e.ctx, &directory.Queue{Number: "18000", Name: "Q", Members: []int64{999999}}),
			directory.ErrQueueMember, "unknown member")
		e.is(e.s.CreateQueue(e.ctx, &directory.Queue{Number: "18000", Name: "Q", GroupID: 999999}),
			directory.ErrUnknownDept, "unknown department")
		list, err := e.s.Queues(e.ctx)
		e.ok(err, "queues")
		if len(list) != 0 {
			e.t.Errorf("refused queues stored: %+v", list)
		}
	}},
	{"agents logged in are kept", func(e *env) {
		a, b := e.user("10001"), e.user("10002")
		e.ok(e.s.SetQueueAgent(e.ctx, a.ID, &directory.QueueAgent{}), "log in a")
		e.ok(e.s.SetQueueAgent(e.ctx, b.ID, &directory.QueueAgent{Paused: true, Reason: "lunch"}), "log in b paused")
		e.ok(e.s.SetQueueAgent(e.ctx, a.ID, &directory.QueueAgent{Paused: true, Reason: "12"}), "pause a")
		list, err := e.s.QueueAgents(e.ctx)
		e.ok(err, "agents")
		want := []directory.QueueAgent{{UserID: a.ID, Paused: true, Reason: "12"}, {UserID: b.ID, Paused: true, Reason: "lunch"}}
		if !slices.Equal(list, want) {
			e.t.Errorf("agents: %+v, want %+v", list, want)
		}
		e.ok(e.s.SetQueueAgent(e.ctx, a.ID, nil), "log out a")
		e.ok(e.s.SetQueueAgent(e.ctx, a.ID, nil), "log out a again")
		list, _ = e.s.QueueAgents(e.ctx)
		if len(list) != 1 || list[0].UserID != b.ID {
			e.t.Errorf("agents after logout: %+v", list)
		}
	}},
	{"call rows keep their queue and wait", func(e *env) {
		a := e.user("10001")
		t0 := fixedTime()
		c := &directory.Call{SIPCallID: "q1@pc33.example", CalleeID: a.ID, From: "+48221234567", To: "10001",
			Dialed: "18000", Direction: directory.Inbound, StartedAt: t0, AnsweredAt: t0.Add(12 * time.Second),
			EndedAt: t0.Add(40 * time.Second), Disposition: directory.Answered, Queue: "18000",
			QueueWait: 11500 * time.Millisecond}
		e.ok(e.s.CreateCall(e.ctx, c), "create call")
		got, err := e.s.Call(e.ctx, c.ID)
		e.ok(err, "call")
		if got.Queue != "18000" || got.QueueWait != 11500*time.Millisecond {
			e.t.Errorf("queue of the call: %q %v", got.Queue, got.QueueWait)
		}
	}},
}
