package web

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/switchboard-pbx/switchboard/directory"
)

// The recording settings hold user and group IDs (as the CLI writes
// them); the settings page shows and takes names instead: users by
// extension, email or full name, groups by name, comma-separated.

// recordedNames turns the stored IDs of key into the names the page shows:
// a user as their name when no one else has it, else their email; a
// group by name. An ID that names nobody is shown as it is.
func (s *Server) recordedNames(ctx context.Context, key, ids string) (string, error) {
	if strings.TrimSpace(ids) == "" {
		return "", nil
	}
	users, groups, err := s.recordingChoices(ctx, key)
	if err != nil {
		return "", err
	}
	var out []string
	for _, f := range strings.Split(ids, ",") {
		f = strings.TrimSpace(f)
		id, _ := strconv.ParseInt(f, 10, 64)
		name := f
		for _, u := range users {
			if u.ID == id {
				name = u.Name
				if n := countName(users, u.Name); n > 1 || strings.Contains(u.Name, ",") {
					name = u.Email
				}
			}
		}
		for _, g := range groups {
			if g.ID == id {
				name = g.Name
			}
		}
		if f != "" {
			out = append(out, name)
		}
	}
	return strings.Join(out, ", "), nil
}

// recordedIDs resolves the names typed for key into stored IDs; an unknown
// or ambiguous name is an error that names it.
func (s *Server) recordedIDs(ctx context.Context, key, names string) (string, error) {
	users, groups, err := s.recordingChoices(ctx, key)
	if err != nil {
		return "", err
	}
	var ids []string
	seen := map[int64]bool{}
	for _, n := range strings.Split(names, ",") {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		var found []int64
		if key == directory.SettingRecordingUsers {
			for _, u := range users {
				if u.Extension == n || strings.EqualFold(u.Email, n) || strings.EqualFold(u.Name, n) {
					found = append(found, u.ID)
				}
			}
		} else {
			for _, g := range groups {
				if strings.EqualFold(g.Name, n) {
					found = append(found, g.ID)
				}
			}
		}
		switch {
		case len(found) == 0 && key == directory.SettingRecordingUsers:
			return "", &directory.InvalidError{Field: key, Rule: fmt.Sprintf("no user %q (give a name, an email or an extension)", n)}
		case len(found) == 0:
			return "", &directory.InvalidError{Field: key, Rule: fmt.Sprintf("no group %q", n)}
		case len(found) > 1:
			return "", &directory.InvalidError{Field: key, Rule: fmt.Sprintf("%q names %d users: give the email or the extension", n, len(found))}
		}
		if !seen[found[0]] {
			seen[found[0]] = true
			ids = append(ids, strconv.FormatInt(found[0], 10))
		}
	}
	return strings.Join(ids, ","), nil
}

// recordingChoices lists the users (not deleted) or the groups key is about.
func (s *Server) recordingChoices(ctx context.Context, key string) ([]directory.User, []directory.Group, error) {
	if key == directory.SettingRecordingGroup {
		gs, err := s.store.Groups(ctx)
		return nil, gs, err
	}
	var all []directory.User
	for page := 1; ; page++ {
		us, err := s.store.Users(ctx, directory.UserFilter{Vis: directory.Visibility{All: true},
			Page: directory.Page{Number: page, Size: 500}})
		if err != nil {
			return nil, nil, err
		}
		all = append(all, us...)
		if len(us) < 500 {
			return all, nil, nil
		}
	}
}

func countName(us []directory.User, name string) int {
	n := 0
	for _, u := range us {
		if strings.EqualFold(u.Name, name) {
			n++
		}
	}
	return n
}

// isRecordedList reports whether key holds recorded users or groups.
func isRecordedList(key string) bool {
	return key == directory.SettingRecordingUsers || key == directory.SettingRecordingGroup
}
