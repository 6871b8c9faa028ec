package sqlite

import (
	"testing"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/directory/storetest"
)

// go test ./directory/sqlite/ -run '^$' -bench Audit -benchtime 2000x
func BenchmarkAudit(b *testing.B) {
	storetest.BenchAudit(b, func(b *testing.B) directory.Store { return benchStore(b) })
}
