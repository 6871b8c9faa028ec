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
	noIntercom := authz.NewSubject(access(ann, directory.UserActive, []directory.Role{agentRole},
		map[string]string{"calls.intercom": "none"}, sales))
	cases := []struct {
		name string
		s    *authz.Subject
		r    authz.Resource
		want error
	}{
		{"migration 00016: an agent reaches a member of their department", subject(ann, agentRole), user(bob), nil},
		{"migration 00016: an agent does not reach another department", subject(ann, agentRole), user(carl), authz.ErrDenied},
		{"seed 002: an admin reaches anyone", subject(adam, adminRole), user(carl), nil},
		{"seed 002: the owner reaches anyone", subject(olivia, ownerRole), user(ann), nil},
		{"an override of none refuses even a colleague", noIntercom, user(bob), authz.ErrDenied},
		{"a call is not a user: refused", subject(adam, adminRole), authz.Resource{Kind: authz.KindCall, UserIDs: []int64{bob}}, authz.ErrDenied},
		{"nobody", nil, user(bob), authz.ErrDenied},
	}
	for _, c := range cases {
		if err := authz.Can(c.s, authz.CallsIntercom, c.r); !errors.Is(err, c.want) || (c.want == nil && err != nil) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	var de *authz.DeniedError
	if err := authz.Can(subject(ann, agentRole), authz.CallsIntercom, user(carl)); !errors.As(err, &de) ||
		de.Reason != "allowed only within your department" {
		t.Errorf("out of department: %v, want the department reason", err)
	}
}
