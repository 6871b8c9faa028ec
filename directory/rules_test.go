package directory_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/switchboard-pbx/switchboard/directory"
)

func TestCheckNew(t *testing.T) {
	for _, tc := range []struct {
		name  string
		u     directory.User
		field string // "" when accepted
	}{
		{"empty state is active", directory.User{Extension: "10001"}, ""},
		{"blocked", directory.User{Extension: "10001", State: directory.UserBlocked}, ""},
		{"deleted is refused", directory.User{Extension: "10001", State: directory.UserDeleted}, "state"},
		{"unknown state", directory.User{Extension: "10001", State: "gone"}, "state"},
		{"no extension", directory.User{}, "extension"},
		{"role 0", directory.User{Extension: "10001", RoleIDs: []int64{0}}, "roles"},
		{"negative group", directory.User{Extension: "10001", GroupIDs: []int64{3, -1}}, "groups"},
	} {
		u := tc.u
		err := u.CheckNew()
		var ie *directory.InvalidError
		switch {
		case tc.field == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.field != "" && (!errors.As(err, &ie) || ie.Field != tc.field):
			t.Errorf("%s: %v, want an *InvalidError on %s", tc.name, err, tc.field)
		}
	}
	u := directory.User{Extension: "10001", Email: " A@Example.COM ", RoleIDs: []int64{3, 1, 3}}
	if err := u.CheckNew(); err != nil {
		t.Fatal(err)
	}
	if u.State != directory.UserActive || u.Email != "a@example.com" || !slices.Equal(u.RoleIDs, []int64{1, 3}) {
		t.Errorf("CheckNew left %q, %q, %v", u.State, u.Email, u.RoleIDs)
	}
}

func TestUserPatchAccessLists(t *testing.T) {
	empty := []int64{}
	p := directory.UserPatch{RoleIDs: &empty}
	if err := p.CheckLists(); !errors.Is(err, directory.ErrInvalid) {
		t.Errorf("empty roles: %v, want ErrInvalid", err)
	}
	p = directory.UserPatch{GroupIDs: &empty}
	if err := p.CheckLists(); !errors.Is(err, directory.ErrInvalid) {
		t.Errorf("empty groups: %v, want ErrInvalid", err)
	}
	p = directory.UserPatch{RoleIDs: &[]int64{0}}
	if err := p.CheckLists(); !errors.Is(err, directory.ErrUnknownRole) {
		t.Errorf("role 0: %v, want ErrUnknownRole", err)
	}
	ids := []int64{5, 2, 5}
	p = directory.UserPatch{GroupIDs: &ids}
	if err := p.CheckLists(); err != nil || !slices.Equal(*p.GroupIDs, []int64{2, 5}) {
		t.Errorf("groups 5, 2, 5: %v, %v", err, *p.GroupIDs)
	}
}
