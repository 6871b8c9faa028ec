package web

import (
	"fmt"
	"net/http"
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
)

// SIP bans (settings.telephony) in the JSON API: the same store calls and
// audit entry as the /security page (liftBans).

type banJSON struct {
	IP        string    `json:"ip"`
	Kind      string    `json:"kind"` // source or extension
	Extension string    `json:"extension,omitempty"`
	Reason    string    `json:"reason"`
	Created   time.Time `json:"created"`
	Expires   time.Time `json:"expires"`
	Node      string    `json:"node,omitempty"`
}

func toBanJSON(b directory.Ban) banJSON {
	return banJSON{IP: b.Source, Kind: b.Kind(), Extension: b.Extension, Reason: b.Reason,
		Created: b.Created.UTC(), Expires: b.Expires.UTC(), Node: b.Node}
}

// apiBans lists the bans in force on every node.
func (s *Server) apiBans(w http.ResponseWriter, r *http.Request) {
	bans, err := s.store.Bans(r.Context(), time.Now())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]banJSON, len(bans))
	for i, b := range bans {
		out[i] = toBanJSON(b)
	}
	writeJSON(w, http.StatusOK, list(out, directory.Page{Number: 1, Size: len(out)}, len(out)))
}

// apiBanDelete lifts every ban and extension lock of the IP address in the
// path: 204, or 404 when it has none.
func (s *Server) apiBanDelete(w http.ResponseWriter, r *http.Request) {
	if err := s.liftBans(r, pathParam(r, "ip")); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// liftBans lifts every ban and lock of the source ip in the store, for the
// page and the API alike, and writes the audit entry; the SIP nodes drop
// them when they next read the change log. An ip that is no IP address is
// invalid (field ip); one without bans is ErrNotFound.
func (s *Server) liftBans(r *http.Request, ip string) error {
	ip, err := directory.CanonicalIP(ip)
	if err != nil {
		return &directory.InvalidError{Field: "ip", Rule: "must be an IP address"}
	}
	n, err := s.store.DeleteBans(r.Context(), ip)
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("bans of %s: %w", ip, directory.ErrNotFound)
	}
	s.audit(r, viewerOf(r), "ban.lift", "ban:"+ip, fmt.Sprintf("%d lifted", n))
	return nil
}
