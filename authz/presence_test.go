package authz_test

import (
	"errors"
	"testing"

	"github.com/switchboard-pbx/switchboard/authz"
	"github.com/switchboard-pbx/switchboard/directory"
)

// TestPresenceWatch: who sees whose busy lamp, and the caller on it.
func TestPresenceWatch(t *testing.T) {
	noShare := func(id int64, perms map[string]string) *authz.Subject {
		return authz.NewSubject(access(id, directory.UserActive, []directory.Role{agentRole}, perms, sales))
	}
	cases := []struct {
		name            string
		watcher, target *authz.Subject
		wantErr         authz.Permission // "" when allowed
		wantInfo        bool
	}{
		{"agent sees a member of their group, caller too", subject(ann, agentRole), subject(bob, agentRole), "", true},
		{"agent does not see another department", subject(ann, agentRole), subject(carl, agentRole), authz.PresenceObserve, false},
		{"nor the other way", subject(carl, agentRole), subject(ann, agentRole), authz.PresenceObserve, false},
		{"admin sees anyone, callers too", subject(adam, adminRole), subject(carl, agentRole), "", true},
		{"admin sees the caller of one who shares with everyone", subject(adam, adminRole), subject(olivia, ownerRole), "", true},
		{"owner sees one who shares nothing", subject(olivia, ownerRole), noShare(ann, map[string]string{"presence.share": "none", "calls.share": "none"}), "", true},
		{"a lead with department scope does not", noShare(lena, map[string]string{"presence.observe": "department"}), noShare(ann, map[string]string{"presence.share": "none"}), authz.PresenceShare, false},
		{"target shares no status", subject(ann, agentRole), noShare(bob, map[string]string{"presence.share": "none"}), authz.PresenceShare, false},
		{"target shares status, not calls", subject(ann, agentRole), noShare(bob, map[string]string{"calls.share": "none"}), "", false},
		{"watcher may observe only themself", noShare(ann, map[string]string{"presence.observe": "own"}), subject(bob, agentRole), authz.PresenceObserve, false},
		{"oneself, always", noShare(ann, map[string]string{"presence.observe": "none", "presence.share": "none"}), noShare(ann, nil), "", true},
		{"a deleted user sees nothing", authz.NewSubject(access(dora, directory.UserDeleted, []directory.Role{adminRole}, nil, nil)), subject(ann, agentRole), authz.PresenceObserve, false},
		{"nobody", nil, subject(ann, agentRole), authz.PresenceObserve, false},
	}
	for _, c := range cases {
		info, err := authz.Watch(c.watcher, c.target)
		var de *authz.DeniedError
		switch {
		case c.wantErr == "" && err != nil:
			t.Errorf("%s: refused: %v", c.name, err)
		case c.wantErr != "" && (!errors.As(err, &de) || de.Permission != c.wantErr):
			t.Errorf("%s: got %v, want a refusal by %s", c.name, err, c.wantErr)
		case info != c.wantInfo:
			t.Errorf("%s: info %v, want %v", c.name, info, c.wantInfo)
		}
	}
}
