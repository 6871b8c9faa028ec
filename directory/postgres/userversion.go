package postgres

import (
	"sync"

	"github.com/jackc/pgx/v5"

	"github.com/switchboard-pbx/switchboard/directory"
)

var _ directory.UserVersioner = (*Store)(nil)

// userTxs holds the transactions that logged a user change and have not
// ended yet; inTx advances the store's user version when such a one ends
// (committed or not: counting one too many is harmless).
var userTxs sync.Map // pgx.Tx -> struct{}

// UserVersion counts the commits of this store that changed a user (see
// directory.UserVersioner).
func (s *Store) UserVersion() uint64 { return s.userVersion.Load() }

// markUserChanges notes that tx logs cs.
func markUserChanges(tx pgx.Tx, cs []directory.Change) {
	for _, c := range cs {
		if c.Kind == directory.ChangeUser {
			userTxs.Store(tx, struct{}{})
			return
		}
	}
}

// userTxEnded advances the user version if tx, just ended, changed a user.
func (s *Store) userTxEnded(tx pgx.Tx) {
	if tx == nil {
		return
	}
	if _, ok := userTxs.LoadAndDelete(tx); ok {
		s.userVersion.Add(1)
	}
}
