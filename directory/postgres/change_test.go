package postgres

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
)

// wait receives from ch or fails the test when ch is closed. There is no
// time limit here: go test -timeout is the only one.
func wait(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	if _, ok := <-ch; !ok {
		t.Fatalf("%s: notification channel closed", what)
	}
}

func TestNotificationsWakeOtherNode(t *testing.T) {
	url := openURLDB(t)
	a, b := openURL(t, url), openURL(t, url)
	ctx := t.Context()

	ch, err := b.Notifications(ctx)
	if err != nil {
		t.Fatalf("notifications: %v", err)
	}
	wait(t, ch, "first send after connecting")

	if err := a.SetSetting(ctx, directory.SettingRecording, "all"); err != nil {
		t.Fatal(err)
	}
	wait(t, ch, "change on the other node")
	cs, err := b.Changes(ctx, 0, 10)
	if err != nil || len(cs) != 1 || cs[0].Kind != directory.ChangeSetting || cs[0].Key != directory.SettingRecording {
		t.Fatalf("changes seen by the other node: %+v, %v", cs, err)
	}

	// A failed transaction logs nothing and wakes nobody: the next wake-up
	// is for the change after it.
	dup := newUser("10001")
	mustCreate(t, a, dup)
	wait(t, ch, "user created")
	dup2 := newUser("10001")
	dup2.Email = "x@example.com"
	if err := a.CreateUser(ctx, dup2); err == nil {
		t.Fatal("duplicate extension accepted")
	}
	if err := a.PutBinding(ctx, directory.Binding{Extension: "10001", Contact: "sip:10001@192.0.2.1",
		Expires: time.Now().Add(time.Hour), Node: "a"}); err != nil {
		t.Fatal(err)
	}
	wait(t, ch, "binding")
	cs, err = b.Changes(ctx, cs[0].Seq, 10)
	if err != nil || len(cs) != 2 || cs[0].Kind != directory.ChangeUser || cs[1].Kind != directory.ChangeBinding ||
		cs[1].Node != "a" || cs[1].Key != "10001" {
		t.Fatalf("changes after a failed transaction: %+v, %v", cs, err)
	}
}

// openURLDB returns the URL of a fresh, migrated database.
func openURLDB(t *testing.T) string {
	t.Helper()
	s := open(t)
	return s.pool.Config().ConnString()
}

func TestNotificationsReconnect(t *testing.T) {
	url := openURLDB(t)
	a, b := openURL(t, url), openURL(t, url)
	ctx := t.Context()
	ch, err := b.Notifications(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wait(t, ch, "first send")

	// Cut the listener's connection, as a server restart or a network
	// failure would.
	var n int
	err = a.pool.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND application_name = $1`, listenerName).Scan(&n)
	if err != nil || n != 1 {
		t.Fatalf("terminate listener: %d, %v", n, err)
	}
	wait(t, ch, "send after reconnecting")

	// The new connection listens.
	if err := a.SetSetting(ctx, directory.SettingRecording, "all"); err != nil {
		t.Fatal(err)
	}
	wait(t, ch, "change after reconnecting")
}

func TestNotificationsStop(t *testing.T) {
	s := open(t)
	ctx, cancel := context.WithCancel(t.Context())
	ch, err := s.Notifications(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	for range ch { // drains the first send, then ends when closed
	}
	ch2, err := s.Notifications(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	for range ch2 {
	}
	if _, err := s.Notifications(t.Context()); err == nil {
		t.Error("notifications of a closed store: no error")
	}
}

// TestChangeSeqCommitOrder checks that change sequence numbers become
// visible in order: a follower that has read up to seq N never later finds
// a change below N that committed after it read.
func TestChangeSeqCommitOrder(t *testing.T) {
	s := open(t)
	ctx := t.Context()
	// A holds an uncommitted change; B's change, made meanwhile, must wait
	// for A's commit instead of becoming visible with a higher seq first.
	txA, err := s.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer txA.Rollback(context.WithoutCancel(ctx))
	if err := logChanges(ctx, txA, directory.Change{Kind: directory.ChangeSetting, Key: "a"}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := s.SetSetting(ctx, directory.SettingRecording, "all"); err != nil {
			t.Error(err)
		}
	})
	// Wait until B is blocked on the change log lock.
	for {
		var waiting bool
		err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_locks
			WHERE locktype = 'advisory' AND NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database()))`).Scan(&waiting)
		if err != nil {
			t.Fatal(err)
		}
		if waiting {
			break
		}
	}
	var visible int
	if err := s.pool.QueryRow(ctx, "SELECT count(*) FROM changes").Scan(&visible); err != nil || visible != 0 {
		t.Fatalf("changes visible while the first is uncommitted: %d, %v", visible, err)
	}
	if err := txA.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	cs, err := s.Changes(ctx, 0, 10)
	if err != nil || len(cs) != 2 || cs[0].Key != "a" || cs[1].Key != directory.SettingRecording {
		t.Fatalf("changes: %+v, %v", cs, err)
	}
}
