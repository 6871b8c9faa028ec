package sqlite

import (
	"database/sql"
	"sync"

	"github.com/switchboard-pbx/switchboard/directory"
)

var _ directory.UserVersioner = (*Store)(nil)

// userTxs holds the write transactions that logged a user change and have
// not ended yet; write advances the store's user version when such a one
// ends (commit or not: counting one too many is harmless).
var userTxs sync.Map // *sql.Tx -> struct{}

// UserVersion counts the commits of this store that changed a user (see
// directory.UserVersioner).
func (s *Store) UserVersion() uint64 { return s.userVersion.Load() }

// markUserChange notes that tx logs a change of kind.
func markUserChange(tx *sql.Tx, kind directory.ChangeKind) {
	if kind == directory.ChangeUser {
		userTxs.Store(tx, struct{}{})
	}
}

// userTxEnded advances the user version if tx, just ended, changed a user.
func (s *Store) userTxEnded(tx *sql.Tx) {
	if _, ok := userTxs.LoadAndDelete(tx); ok {
		s.userVersion.Add(1)
	}
}
