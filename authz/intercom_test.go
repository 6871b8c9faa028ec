package authz_test

import (
	"errors"
	"testing"

	"github.com/switchboard-pbx/switchboard/authz"
	"github.com/switchboard-pbx/switchboard/directory"
)

// TestIntercom: who may call whom on intercom (*90) or page them (*91):
// calls.intercom decided on the callee, a user resource.
func TestIntercom(t *testing.T) {
	user := func(id int64) authz.Resource { return authz.Resource{Kind: authz.KindUser, UserIDs: []int64{id}} }
	team := authz.NewSubject(access(ann, directory.UserActive, []directory.Role{agentRole},
		map[string]string{"calls.intercom": "department"}, sales))
	cases := []struct {
		name string
		s    *authz.Subject
		r    authz.Resource
		want error
	}{
		{"an agent reaches nobody, not even a colleague", subject(ann, agentRole), user(bob), authz.ErrDenied},
		{"department: a member of the department", team, user(bob), nil},
		{"department: not another department", team, user(carl), authz.ErrDenied},
		{"an admin reaches anyone", subject(adam, adminRole), user(carl), nil},
		{"the owner reaches anyone", subject(olivia, ownerRole), user(ann), nil},
		{"a call is not a user: refused", subject(adam, adminRole), authz.Resource{Kind: authz.KindCall, UserIDs: []int64{bob}}, authz.ErrDenied},
		{"nobody", nil, user(bob), authz.ErrDenied},
	}
	for _, c := range cases {
		if err := authz.Can(c.s, authz.CallsIntercom, c.r); !errors.Is(err, c.want) || (c.want == nil && err != nil) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	var de *authz.DeniedError
	if err := authz.Can(team, authz.CallsIntercom, user(carl)); !errors.As(err, &de) ||
		de.Reason != "allowed only within your department" {
		t.Errorf("out of department: %v, want the department reason", err)
	}
}
