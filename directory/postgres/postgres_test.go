package postgres

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/directory/postgres/pgtest"
)

// open returns a migrated store on a fresh database, closed when the test
// ends.
func open(t testing.TB) *Store {
	t.Helper()
	return openURL(t, pgtest.URL(t))
}

func openURL(t testing.TB, url string) *Store {
	t.Helper()
	s, err := Open(context.Background(), url, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestOpenUnreachable(t *testing.T) {
	// Port 1 on loopback refuses at once; the password must not show.
	_, err := Open(t.Context(), "postgres://sb:s3cret-pw@127.0.0.1:1/switchboard?sslmode=disable&connect_timeout=5", nil)
	if !errors.Is(err, directory.ErrUnavailable) {
		t.Fatalf("open unreachable server: %v, want ErrUnavailable", err)
	}
	msg := err.Error()
	t.Log(msg)
	if !strings.Contains(msg, "127.0.0.1:1") {
		t.Errorf("error %q does not name the server", msg)
	}
	if strings.Contains(msg, "s3cret-pw") {
		t.Errorf("error %q shows the password", msg)
	}

	// The server answers and refuses: not an outage to wait for.
	u, err := url.Parse(pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword("sb_nobody_here", "s3cret-pw")
	if _, err = Open(t.Context(), u.String(), nil); err == nil || errors.Is(err, directory.ErrUnavailable) ||
		strings.Contains(err.Error(), "s3cret-pw") {
		t.Errorf("open as an unknown role: %v, want a refusal that is not ErrUnavailable, without the password", err)
	}

	_, err = Open(t.Context(), "postgres://sb:s3cret-pw@127.0.0.1:notaport/db", nil)
	if err == nil || strings.Contains(err.Error(), "s3cret-pw") {
		t.Errorf("open with a bad url: %v, want an error without the password", err)
	}
}

func TestOpenTogetherMigratesOnce(t *testing.T) {
	url := pgtest.URL(t)
	var wg sync.WaitGroup
	stores := make([]*Store, 3)
	errs := make([]error, 3)
	for i := range stores {
		wg.Go(func() { stores[i], errs[i] = Open(t.Context(), url, nil) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		t.Cleanup(func() { stores[i].Close() })
	}
	// Exactly one of them applied the migrations.
	applied := 0
	for _, s := range stores {
		if len(s.Applied()) > 0 {
			applied++
		}
	}
	if applied != 1 {
		t.Errorf("%d stores applied migrations, want 1", applied)
	}
	if again, err := stores[2].Migrate(t.Context()); err != nil || len(again) != 0 {
		t.Errorf("migrate after open: %v, %v; want nothing to do", again, err)
	}
	ms, err := stores[0].Migrations(t.Context())
	if err != nil {
		t.Fatalf("migrations: %v", err)
	}
	if len(ms) == 0 || ms[0].File != "00001_init.sql" {
		t.Fatalf("migrations: %+v, want 00001_init.sql first", ms)
	}
	for _, m := range ms {
		if !m.Applied || m.AppliedAt.IsZero() {
			t.Errorf("migration %s not applied after Open", m.File)
		}
	}
	// Seeds are there once.
	rs, err := stores[1].Roles(t.Context())
	if err != nil || len(rs) != 3 {
		t.Fatalf("roles after concurrent opens: %d, %v; want the 3 built-ins", len(rs), err)
	}
}

func TestSeeds(t *testing.T) {
	s := open(t)
	ctx := t.Context()
	every := []string{"calls.history", "recordings.listen", "recordings.download", "recordings.delete",
		"calls.outbound", "calls.monitor", "calls.control", "presence.observe", "presence.share", "calls.share", "calls.intercom", "calls.park", "ivr.control", "queues.view", "queues.manage", "users.view", "users.manage", "users.create", "groups.manage",
		"roles.manage", "numbers.manage", "settings.telephony", "audit.view", "contacts.view",
		"contacts.manage", "contacts.delete"}
	want := map[string]map[string]string{
		directory.BuiltinOwner: {},
		directory.BuiltinAdmin: {"recordings.delete": "none", "users.create": "none", "roles.manage": "none"},
		directory.BuiltinAgent: {"calls.history": "own", "recordings.listen": "own", "recordings.download": "none",
			"recordings.delete": "none", "calls.outbound": "crm_and_employees", "calls.monitor": "none", "calls.control": "none", "presence.observe": "department", "presence.share": "department", "calls.share": "department", "calls.intercom": "none", "calls.park": "any", "ivr.control": "none", "queues.view": "none", "queues.manage": "none", "users.view": "own",
			"users.manage": "own", "users.create": "none", "groups.manage": "none", "roles.manage": "none",
			"numbers.manage": "none", "settings.telephony": "none", "audit.view": "none", "contacts.view": "own",
			"contacts.manage": "own", "contacts.delete": "own"},
	}
	names := map[string]string{"owner": "Owner", "admin": "Admin", "agent": "Agent"}
	for builtin, exceptions := range want {
		r, err := s.RoleByBuiltin(ctx, builtin)
		if err != nil {
			t.Fatalf("role %s: %v", builtin, err)
		}
		perms := make(map[string]string)
		for _, p := range every {
			perms[p] = "any"
		}
		maps.Copy(perms, exceptions)
		if r.Name != names[builtin] || !maps.Equal(r.Perms, perms) {
			t.Errorf("role %s: %s %v, want %s %v", builtin, r.Name, r.Perms, names[builtin], perms)
		}
	}
	agent, _ := s.RoleByBuiltin(ctx, directory.BuiltinAgent)
	v, err := s.Setting(ctx, directory.SettingDefaultRole)
	if err != nil || v != strconv.FormatInt(agent.ID, 10) {
		t.Errorf("default role setting %q, %v; want %d", v, err, agent.ID)
	}
	g, err := s.DefaultGroup(ctx)
	if err != nil || g.Name != "Default group" || !g.Default {
		t.Errorf("default group %+v, %v", g, err)
	}
}
