package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/switchboard-pbx/switchboard/authz"
	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/provision"
)

// provisionFile serves a device its configuration or phone book under
// /provision/{token}/{file}. The route has no session: the secret in the
// path is the credential. Whatever is wrong (an unknown secret, a file
// that is not the device's, a user blocked or deleted), the answer is the
// same 404 after the same store lookup, so a stranger learns nothing of
// which devices exist; unknown secrets count against the source as failed
// logins do, and every fetch, served or refused, is audited.
func (s *Server) provisionFile(w http.ResponseWriter, r *http.Request) {
	token, name := chi.URLParam(r, "token"), chi.URLParam(r, "file")
	src := sourceKey(r.RemoteAddr)
	if !s.throttle.allowed("provision", src) {
		w.Header().Set("Retry-After", "900")
		http.Error(w, "too many attempts", http.StatusTooManyRequests)
		return
	}
	d, err := s.store.DeviceByToken(r.Context(), provision.TokenHash(token))
	if isNotFound(err) {
		s.throttle.failed("provision", src)
		s.auditPhone(r, nil, "device.provision.denied", "unknown secret, file "+truncate(name, 60))
		provisionNotFound(w)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f, err := s.renderProvision(r, d, token, name)
	if errors.Is(err, provision.ErrNoFile) || errors.Is(err, errNotFound) || errors.Is(err, provision.ErrSealed) {
		s.auditPhone(r, d, "device.provision.denied", truncate(name, 60)+": "+err.Error())
		provisionNotFound(w)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ip := remoteIP(r.RemoteAddr)
	if err := s.store.DeviceFetched(r.Context(), d.ID, s.now(), ip); err != nil {
		s.log.Warn("device fetch not noted", "device_id", d.ID, "err", err)
	}
	s.auditPhone(r, d, "device.provision", f.Name)
	h := w.Header()
	h.Set("Content-Type", f.ContentType)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(f.Body)
}

// provisionNotFound is the one refusal of the provisioning routes.
func provisionNotFound(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNotFound)
	_, _ = w.Write([]byte("not found\n"))
}

// renderProvision renders file name of device d, whose URL secret token
// opens its sealed extension password.
func (s *Server) renderProvision(r *http.Request, d *directory.Device, token, name string) (*provision.File, error) {
	ctx := r.Context()
	u, err := s.store.User(ctx, d.UserID)
	if err != nil {
		return nil, err
	}
	if u.State != directory.UserActive {
		return nil, errNotFound
	}
	if strings.EqualFold(name, "phonebook.xml") || d.Vendor == directory.Polycom && strings.EqualFold(name, d.MAC+"-directory.xml") {
		return s.phoneBook(r, d, u)
	}
	pw, err := provision.Open(token, d.Sealed)
	if err != nil {
		return nil, err
	}
	m, err := s.manualSetup(r)
	if err != nil {
		return nil, err
	}
	transport := "udp"
	if s.cfg.SIPTransport != "" {
		transport = s.cfg.SIPTransport
	}
	dir := s.baseURL(r) + "/provision/" + token + "/"
	return provision.Render(d.Vendor, name, provision.Account{MAC: d.MAC, Label: d.Label, Extension: u.Extension,
		Password: pw, DisplayName: u.Name, Domain: m.Domain, Host: m.Host, Port: m.Port, Transport: transport,
		Language: u.Language, PhoneBookURL: dir + "phonebook.xml"})
}

// phoneBookMax bounds the phone book: desk phones hold a few thousand
// entries at most.
const phoneBookMax = 2000

// phoneBook lists, for the device's user, the colleagues they may see
// (users.view) with their extensions and the contacts they may see
// (contacts.view, the rules of the contacts page) with each phone.
func (s *Server) phoneBook(r *http.Request, d *directory.Device, u *directory.User) (*provision.File, error) {
	ctx := r.Context()
	a, err := s.store.Access(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	subj := authz.NewSubject(a)
	var entries []provision.Entry
	for page := 1; len(entries) < phoneBookMax; page++ {
		us, err := s.store.Users(ctx, directory.UserFilter{States: []directory.UserState{directory.UserActive},
			Vis: authz.Visibility(subj, authz.UsersView), Page: directory.Page{Number: page, Size: 500}})
		if err != nil {
			return nil, err
		}
		for _, c := range us {
			if c.Extension != "" {
				entries = append(entries, provision.Entry{Name: c.Name, Number: c.Extension})
			}
		}
		if len(us) < 500 {
			break
		}
	}
	for page := 1; len(entries) < phoneBookMax; page++ {
		cs, err := s.store.Contacts(ctx, directory.ContactFilter{Vis: authz.Visibility(subj, authz.ContactsView),
			Page: directory.Page{Number: page, Size: 500}})
		if err != nil {
			return nil, err
		}
		for _, c := range cs {
			name := c.Name
			if name == "" {
				name = c.Company
			} else if c.Company != "" {
				name += " (" + c.Company + ")"
			}
			for _, ph := range c.Phones {
				entries = append(entries, provision.Entry{Name: name, Number: ph})
			}
		}
		if len(cs) < 500 {
			break
		}
	}
	if len(entries) > phoneBookMax {
		entries = entries[:phoneBookMax]
	}
	return provision.PhoneBook(d.Vendor, "Switchboard", entries)
}

// auditPhone writes an entry for a provisioning fetch: the actor is the
// phone as the request named it (its MAC), or "phone" when its secret is
// unknown.
func (s *Server) auditPhone(r *http.Request, d *directory.Device, action, detail string) {
	e := &directory.AuditEntry{Actor: "phone", Action: action, Detail: detail, IP: remoteIP(r.RemoteAddr),
		UserAgent: truncate(r.UserAgent(), 300)}
	if d != nil {
		e.Object = "device:" + itoa(d.ID)
		if d.MAC != "" {
			e.Actor = "phone " + d.MAC
		}
	}
	if err := s.store.Audit(r.Context(), e); err != nil {
		s.log.Error("audit not written", "action", action, "object", e.Object, "err", err)
	}
}
