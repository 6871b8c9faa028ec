package web

import (
	"net/http"
	"time"

	"github.com/switchboard-pbx/switchboard/authz"
	"github.com/switchboard-pbx/switchboard/directory"
)

// page is what every template gets: the viewer, the language and its
// helpers, the form token and the page's own data.
type page struct {
	Title string // locale key
	Lang  string
	Path  string
	CSRF  string
	Flash string // locale key of a one-line notice
	Data  any

	v   *viewer
	cat catalogs
	loc *time.Location // the viewer's time zone
}

func (s *Server) page(r *http.Request, title string) *page {
	v := viewerOf(r)
	p := &page{Title: title, Path: r.URL.Path, v: v, cat: s.cat, loc: s.location(r)}
	userLang := ""
	if v != nil {
		userLang = v.user().Language
		p.CSRF = csrfToken(v.sid)
	}
	if l := r.URL.Query().Get("lang"); v == nil && directory.ValidateLanguage(l) == nil && l != "" {
		userLang = l
	}
	p.Lang = pickLanguage(userLang, r.Header.Get("Accept-Language"))
	p.Flash = flashKey(r.URL.Query().Get("done"))
	return p
}

// T translates a message key, formatting args into it when given.
func (p *page) T(key string, args ...any) string { return p.cat.translate(p.Lang, key, args...) }

// Time, Num and Dur format for the page's language, Time in the viewer's
// time zone (Zone).
func (p *page) Time(t time.Time) string            { return formatTime(p.Lang, t, p.loc) }
func (p *page) Zone() string                       { return p.loc.String() }
func (p *page) Num(n int) string                   { return formatNumber(p.Lang, int64(n)) }
func (p *page) Dur(d time.Duration) string         { return formatDuration(d) }
func (p *page) Me() *directory.User                { return p.userOrNil() }
func (p *page) SignedIn() bool                     { return p.v != nil }
func (p *page) Languages() []string                { return languages }
func (p *page) Scope(s authz.Scope) string         { return p.T("scope." + s.String()) }
func (p *page) PermName(q authz.Permission) string { return p.T("perm." + string(q)) }

// PermWhy is the roles matrix's note on what a permission is for and whom
// to give it, where the catalogue has one ("perm.why.<name>"), else "".
func (p *page) PermWhy(q authz.Permission) string {
	key := "perm.why." + string(q)
	if msg := p.T(key); msg != key {
		return msg
	}
	return ""
}

// RoleName shows a built-in role (Owner, Admin, Agent) in the page's
// language and a custom role by the name it was given.
func (p *page) RoleName(builtin, name string) string {
	if builtin != "" {
		return p.T("role.builtin." + builtin)
	}
	return name
}

// GroupName shows the default group in the page's language; it cannot be
// renamed, so its stored name is only the English one.
func (p *page) GroupName(isDefault bool, name string) string {
	if isDefault {
		return p.T("groups.default_name")
	}
	return name
}

// AuditAction names an audit action in the page's language; an action
// without a translation shows as stored.
func (p *page) AuditAction(action string) string {
	key := "audit.action." + action
	if msg := p.T(key); msg != key {
		return msg
	}
	return action
}

func (p *page) userOrNil() *directory.User {
	if p.v == nil {
		return nil
	}
	return p.v.user()
}

// Can reports whether the viewer holds the permission at some scope: what
// the navigation and buttons show. The route decides again on submit.
func (p *page) Can(perm string) bool {
	return p.v != nil && authz.CanDo(p.v.subj, authz.Permission(perm)) == nil
}

// flashKey accepts only known notices from the ?done= of a redirect.
func flashKey(done string) string {
	switch done {
	case "saved", "created", "deleted", "blocked", "unblocked", "revoked", "reset", "lifted":
		return "flash." + done
	}
	return ""
}

// navItem is one link of the side navigation.
type navItem struct {
	Href, Key, Perm string
}

// Nav lists the sections the viewer may open.
func (p *page) Nav() []navItem {
	var out []navItem
	for _, n := range p.navAll() {
		if n.Href == "/recordings" && !p.Can(string(authz.RecordingsListen)) && !p.Can(string(authz.RecordingsDownload)) {
			continue
		}
		if n.Href == "/queues" && p.Can(string(authz.QueuesManage)) { // managers without the board
			out = append(out, n)
			continue
		}
		if n.Perm == "" || p.Can(n.Perm) {
			out = append(out, n)
		}
	}
	return out
}

func (p *page) navAll() []navItem {
	return []navItem{
		{"/", "nav.dashboard", ""},
		{"/users", "nav.users", string(authz.UsersView)},
		{"/groups", "nav.groups", string(authz.GroupsManage)},
		{"/roles", "nav.roles", string(authz.RolesManage)},
		{"/contacts", "nav.contacts", string(authz.ContactsView)},
		{"/calls", "nav.calls", string(authz.CallsHistory)},
		{"/recordings", "nav.recordings", ""},
		{"/voicemail", "nav.voicemail", ""},
		{"/settings", "nav.settings", string(authz.SettingsTelephony)},
		{"/security", "nav.security", string(authz.SettingsTelephony)},
		{"/numbers", "nav.numbers", string(authz.NumbersManage)},
		{"/hours", "nav.hours", string(authz.IVRControl)},
		{"/queues", "nav.queues", string(authz.QueuesView)},
		{"/ivr", "nav.ivr", string(authz.IVRControl)},
		{"/audit", "nav.audit", string(authz.AuditView)},
		{"/devices", "nav.devices", string(authz.UsersManage)},
	}
}

// Active reports whether href is the current section.
func (p *page) Active(href string) bool {
	if href == "/" {
		return p.Path == "/"
	}
	return p.Path == href || len(p.Path) > len(href) && p.Path[:len(href)+1] == href+"/"
}

// Has reports whether id is among ids (checked boxes).
func (p *page) Has(id int64, ids []int64) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

// List makes a list in a template: {{range $.List "a" "b"}}.
func (p *page) List(xs ...string) []string { return xs }
