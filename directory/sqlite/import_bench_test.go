package sqlite

import (
	"testing"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/directory/storetest"
)

// go test ./directory/sqlite/ -run '^$' -bench ImportUsers -benchtime 3x
func BenchmarkImportUsers(b *testing.B) {
	storetest.BenchImportUsers(b, func(b *testing.B) directory.Store { return benchStore(b) })
}

// go test ./directory/sqlite/ -run '^$' -bench Search
func BenchmarkSearch(b *testing.B) {
	storetest.BenchSearch(b, func(b *testing.B) directory.Store { return benchStore(b) })
}
