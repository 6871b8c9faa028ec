package web

import (
	"context"

	"github.com/switchboard-pbx/switchboard/authz"
	"github.com/switchboard-pbx/switchboard/directory"
)

// PresenceLive is offered by a Live that knows the live state of
// extensions (what busy lamps show); the dashboard shows it to those
// authz.Watch allows.
type PresenceLive interface {
	// Presence returns ext's state; the peer only when info is set.
	Presence(ext string, info bool) ExtPresence
}

// ExtPresence is an extension's live state.
type ExtPresence struct {
	Status string // offline, available, dnd, ringing, on_call
	Peer   string // who it talks to, "" when none or not shown
}

// presenceRow is one line of the dashboard's busy lamps.
type presenceRow struct {
	User directory.User
	ExtPresence
}

// maxPresenceRows bounds the lamps on the dashboard (and the store
// lookups behind them).
const maxPresenceRows = 100

// presenceRows returns the state of the users subj may watch, by name.
func (s *Server) presenceRows(ctx context.Context, subj *authz.Subject) ([]presenceRow, error) {
	pl, ok := s.live.(PresenceLive)
	if !ok || authz.CanDo(subj, authz.PresenceObserve) != nil {
		return nil, nil
	}
	users, err := s.store.Users(ctx, directory.UserFilter{Vis: authz.Visibility(subj, authz.PresenceObserve),
		Page: directory.Page{Number: 1, Size: maxPresenceRows}})
	if err != nil {
		return nil, err
	}
	var out []presenceRow
	for _, u := range users {
		if u.Extension == "" {
			continue
		}
		acc, err := s.store.Access(ctx, u.ID)
		if err != nil {
			return nil, err
		}
		info, err := authz.Watch(subj, authz.NewSubject(acc))
		if err != nil {
			continue
		}
		out = append(out, presenceRow{User: u, ExtPresence: pl.Presence(u.Extension, info)})
	}
	return out, nil
}

// featureRow is a feature code as the dashboard lists it.
type featureRow struct {
	directory.FeatureCode
	Example string // the code with its argument, e.g. *3110002
}

// featureRows returns the feature code table in force.
func (s *Server) featureRows(ctx context.Context) ([]featureRow, error) {
	v, err := s.store.Setting(ctx, directory.SettingFeatureCodes)
	if err != nil {
		return nil, err
	}
	table, err := directory.ParseFeatureCodes(v)
	if err != nil {
		table = directory.DefaultFeatureCodes()
	}
	out := make([]featureRow, len(table))
	for i, f := range table {
		ex := f.Code
		switch f.Arg {
		case directory.ArgExtension:
			ex += "EXT"
		case directory.ArgNumber:
			ex += "NUMBER"
		case directory.ArgOptExtension:
			ex += "[GROUP]"
		}
		out[i] = featureRow{FeatureCode: f, Example: ex}
	}
	return out, nil
}
