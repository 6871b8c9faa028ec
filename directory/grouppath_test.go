package directory

import (
	"slices"
	"testing"
)

func TestGroupPath(t *testing.T) {
	groups := []Group{{ID: 1}, {ID: 2, ParentID: 1}, {ID: 3, ParentID: 2}, {ID: 4}}
	for _, tc := range []struct {
		id   int64
		want []int64
	}{{3, []int64{3, 2, 1}}, {2, []int64{2, 1}}, {4, []int64{4}}, {0, nil}, {9, nil}} {
		if got := GroupPath(groups, tc.id); !slices.Equal(got, tc.want) {
			t.Errorf("GroupPath(%d) = %v, want %v", tc.id, got, tc.want)
		}
	}
	// A cycle the stores refuse ends anyway.
	if got := GroupPath([]Group{{ID: 1, ParentID: 2}, {ID: 2, ParentID: 1}}, 1); len(got) > 3 {
		t.Errorf("a cycle: %v", got)
	}
}
