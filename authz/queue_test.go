package authz_test

import (
	"testing"

	"github.com/switchboard-pbx/switchboard/authz"
	"github.com/switchboard-pbx/switchboard/directory"
)

// TestQueueScopes: queues.view and queues.manage over call queues:
// department covers the queues of one's groups and their
// subgroups, any covers company-wide queues too, none nothing.
func TestQueueScopes(t *testing.T) {
	const salesG, northG, supportG = 10, 11, 20
	for _, p := range []authz.Permission{authz.QueuesView, authz.QueuesManage} {
		for scope, want := range map[string][3]error{
			"none":       {authz.ErrDenied, authz.ErrDenied, authz.ErrDenied},
			"department": {nil, authz.ErrDenied, authz.ErrDenied},
			"any":        {nil, nil, nil},
		} {
			a := access(lena, directory.UserActive, []directory.Role{agentRole}, map[string]string{string(p): scope}, sales)
			a.User.GroupIDs = []int64{salesG}
			subj := authz.NewSubject(a)
			check(t, string(p)+" "+scope+" on a subgroup's queue", authz.Can(subj, p, authz.QueueResource([]int64{northG, salesG})), want[0])
			check(t, string(p)+" "+scope+" on another department's queue", authz.Can(subj, p, authz.QueueResource([]int64{supportG})), want[1])
			check(t, string(p)+" "+scope+" on a company-wide queue", authz.Can(subj, p, authz.QueueResource(nil)), want[2])
		}
	}
}
