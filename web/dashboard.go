package web

import (
	"context"
	"net/http"
	"slices"

	"github.com/switchboard-pbx/switchboard/authz"
	"github.com/switchboard-pbx/switchboard/directory"
)

type registration struct {
	directory.Binding
	User *directory.User
}

type dashboardPage struct {
	Registrations []registration
	Calls         []ActiveCall
	ShowCalls     bool
	Trunks        []TrunkStatus // registrations to carriers, for settings.telephony
	HistoryHeld   int           // call history writes waiting for the store
	Presence      []presenceRow // busy lamps of the users the viewer may watch
	Features      []featureRow  // the feature code table
}

// HistoryLive is offered by a Live that holds the call history writes the
// store could not take; the dashboard shows how many wait.
type HistoryLive interface {
	HistoryWritesHeld() int
}

func (s *Server) dashboard(w http.ResponseWriter, r *http.Request) {
	regs, err := s.registrations(r.Context(), subject(r))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	dp := dashboardPage{Registrations: regs}
	if vis := authz.Visibility(subject(r), authz.CallsMonitor); authz.CanDo(subject(r), authz.CallsMonitor) == nil {
		dp.ShowCalls = true
		for _, c := range s.live.ActiveCalls() {
			if vis.All || slices.Contains(vis.UserIDs, c.CallerID) || slices.Contains(vis.UserIDs, c.CalleeID) {
				dp.Calls = append(dp.Calls, c)
			}
		}
	}
	if tl, ok := s.live.(TrunkLive); ok && authz.CanDo(subject(r), authz.SettingsTelephony) == nil {
		dp.Trunks = tl.TrunkRegistrations()
	}
	// A count over everyone's calls: for those who see all call history.
	if hl, ok := s.live.(HistoryLive); ok && authz.Visibility(subject(r), authz.CallsHistory).All {
		dp.HistoryHeld = hl.HistoryWritesHeld()
	}
	if dp.Presence, err = s.presenceRows(r.Context(), subject(r)); err != nil {
		s.fail(w, r, err)
		return
	}
	if dp.Features, err = s.featureRows(r.Context()); err != nil {
		s.fail(w, r, err)
		return
	}
	p := s.page(r, "dashboard.title")
	p.Data = dp
	s.render(w, r, http.StatusOK, "dashboard.html", p)
}

// registrations returns the registered phones of the users the subject may
// see (users.view), each with its user.
func (s *Server) registrations(ctx context.Context, subj *authz.Subject) ([]registration, error) {
	bs := s.live.Registrations()
	if len(bs) == 0 || authz.CanDo(subj, authz.UsersView) != nil {
		return nil, nil
	}
	var out []registration
	byExt := map[string]*directory.User{}
	for _, b := range bs {
		u, ok := byExt[b.Extension]
		if !ok {
			var err error
			u, err = s.store.UserByExtension(ctx, b.Extension)
			if err != nil && !isNotFound(err) {
				return nil, err
			}
			byExt[b.Extension] = u
		}
		if u == nil || authz.Can(subj, authz.UsersView, authz.UserResource(u)) != nil {
			continue
		}
		out = append(out, registration{Binding: b, User: u})
	}
	slices.SortFunc(out, func(a, b registration) int {
		if a.Extension != b.Extension {
			if a.Extension < b.Extension {
				return -1
			}
			return 1
		}
		return 0
	})
	return out, nil
}
