package postgres

import (
	"testing"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/directory/storetest"
)

// go test ./directory/postgres/ -run '^$' -bench ImportUsers -benchtime 3x
func BenchmarkImportUsers(b *testing.B) {
	storetest.BenchImportUsers(b, func(b *testing.B) directory.Store { return open(b) })
}

// go test ./directory/postgres/ -run '^$' -bench Search
func BenchmarkSearch(b *testing.B) {
	storetest.BenchSearch(b, func(b *testing.B) directory.Store { return open(b) })
}
