package web

import (
	"crypto/subtle"
	"errors"
	"html/template"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/switchboard-pbx/switchboard/authz"
	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/provision"
)

// deviceRow is a device as the Devices page lists it: its user and the
// user's live registrations.
type deviceRow struct {
	directory.Device
	User          *directory.User
	Registrations []directory.Binding
}

// deviceSecret is what a new device, or one given a new secret, shows
// once: its provisioning URLs, and the extension password when one was
// generated for it.
type deviceSecret struct {
	DeviceID    int64
	Dir         string // the URL phones are given as their provisioning server
	File        string // the device's main file
	PhoneBook   string
	ExtPassword string       // a newly generated extension password, "" when the typed one was kept
	QR          template.URL // data: URL of a QR code of File (softphones), "" when none
}

// deviceForm is what was typed into the add form.
type deviceForm struct {
	User, MAC, Vendor, Model, Label string
}

type devicesPage struct {
	Devices []deviceRow
	Vendors []directory.Vendor
	Form    deviceForm
	Errors  map[string]string
	Secret  *deviceSecret
	Manual  manualSetup
	Pager   pager
}

func (s *Server) deviceList(w http.ResponseWriter, r *http.Request) {
	s.renderDevices(w, r, http.StatusOK, deviceForm{Vendor: string(directory.Yealink)}, nil, nil)
}

func (s *Server) renderDevices(w http.ResponseWriter, r *http.Request, status int, form deviceForm,
	errs map[string]string, secret *deviceSecret) {
	ctx := r.Context()
	f := directory.DeviceFilter{Vis: authz.Visibility(subject(r), authz.UsersManage), Page: pageParam(r)}
	ds, err := s.store.Devices(ctx, f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	live := s.bindingsByExtension()
	rows := make([]deviceRow, len(ds))
	users := map[int64]*directory.User{}
	for i, d := range ds {
		u, ok := users[d.UserID]
		if !ok {
			if u, err = s.store.User(ctx, d.UserID); err != nil {
				s.fail(w, r, err)
				return
			}
			users[d.UserID] = u
		}
		rows[i] = deviceRow{Device: d, User: u, Registrations: live[u.Extension]}
	}
	manual, err := s.manualSetup(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p := s.page(r, "devices.title")
	p.Data = devicesPage{Devices: rows, Vendors: directory.Vendors, Form: form, Errors: errs, Secret: secret,
		Manual: manual, Pager: newPager(r, f.Page, len(ds), -1)}
	s.render(w, r, status, "devices.html", p)
}

// bindingsByExtension groups the live registrations by extension.
func (s *Server) bindingsByExtension() map[string][]directory.Binding {
	m := map[string][]directory.Binding{}
	for _, b := range s.live.Registrations() {
		m[b.Extension] = append(m[b.Extension], b)
	}
	return m
}

func (s *Server) deviceCreate(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r); err != nil {
		s.fail(w, r, err)
		return
	}
	form := deviceForm{User: strings.TrimSpace(r.PostFormValue("user")), MAC: r.PostFormValue("mac"),
		Vendor: r.PostFormValue("vendor"), Model: r.PostFormValue("model"), Label: r.PostFormValue("label")}
	d := &directory.Device{MAC: form.MAC, Vendor: directory.Vendor(form.Vendor), Model: form.Model, Label: form.Label}
	secret, err := s.createDevice(r, d, form.User, directory.Password(r.PostFormValue("ext_password")))
	if fe := formErrors(err); fe != nil {
		s.renderDevices(w, r, http.StatusBadRequest, form, fe, nil)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.renderDevices(w, r, http.StatusCreated, deviceForm{Vendor: form.Vendor}, nil, secret)
}

// createDevice stores d for the user named by who (an extension or an
// email), whom the viewer must manage, for the form and the API alike.
func (s *Server) createDevice(r *http.Request, d *directory.Device, who string, pw directory.Password) (*deviceSecret, error) {
	a, err := s.deviceUser(r, who)
	if err != nil {
		return nil, err
	}
	d.UserID = a.User.ID
	// Everything that can refuse the device comes before a new extension
	// password is set: the rules, the typed password, then the row itself
	// (a MAC in use), stored under a secret nobody holds until it is sealed.
	d.TokenHash = provision.TokenHash(provision.NewToken())
	if err := d.Check(); err != nil {
		return nil, err
	}
	if pw != "" {
		if err := s.checkExtPassword(r, a.User.Extension, pw); err != nil {
			return nil, err
		}
	}
	if err := s.store.CreateDevice(r.Context(), d); err != nil {
		return nil, err
	}
	token, generated, err := s.sealDevice(r, a, d, pw, true)
	if err == nil {
		err = s.store.UpdateDevice(r.Context(), d)
	}
	if err != nil {
		if derr := s.store.DeleteDevice(r.Context(), d.ID); derr != nil {
			s.log.Error("device left without a secret", "device_id", d.ID, "err", derr)
		}
		return nil, err
	}
	s.auditChange(r, viewerOf(r), "device.create", "device:"+itoa(d.ID), "user:"+itoa(a.User.ID), nil, deviceAudit(d))
	return s.deviceSecret(r, d, token, generated), nil
}

// deviceUser finds the user a device is for, by extension or email, and
// checks that the viewer manages them; anyone the viewer does not see is
// unknown, as is a name that matches nobody.
func (s *Server) deviceUser(r *http.Request, who string) (*directory.Access, error) {
	unknown := &directory.InvalidError{Field: "user", Rule: "no such user (give an extension or an email)"}
	if who == "" {
		return nil, &directory.InvalidError{Field: "user", Rule: "is required"}
	}
	u, err := s.store.UserByExtension(r.Context(), who)
	if isNotFound(err) {
		u, err = s.store.UserByEmail(r.Context(), who)
	}
	if isNotFound(err) {
		return nil, unknown
	}
	if err != nil {
		return nil, err
	}
	a, err := s.loadUserID(r, u.ID, authz.UsersManage)
	var de *authz.DeniedError
	if errors.As(err, &de) && de.OutOfScope { // someone the viewer does not see
		return nil, unknown
	}
	return a, err
}

// sealDevice gives d a new URL secret and seals the extension password
// into it: the typed one, checked against the stored digest (unless the
// caller has, checked), or, when none is typed, a newly generated one
// (which replaces the user's, as "reset extension password" does). It
// returns the secret and the generated password.
func (s *Server) sealDevice(r *http.Request, a *directory.Access, d *directory.Device, pw directory.Password,
	checked bool) (string, directory.Password, error) {
	var generated directory.Password
	if pw == "" {
		var err error
		if pw, err = s.newExtPassword(r, a); err != nil {
			return "", "", err
		}
		generated = pw
	} else if !checked {
		if err := s.checkExtPassword(r, a.User.Extension, pw); err != nil {
			return "", "", err
		}
	}
	token := provision.NewToken()
	sealed, err := provision.Seal(token, pw)
	if err != nil {
		return "", "", err
	}
	d.TokenHash, d.Sealed = provision.TokenHash(token), sealed
	return token, generated, nil
}

// checkExtPassword compares pw with the extension's stored digest; tries
// are throttled like logins, since a match tells the extension password.
func (s *Server) checkExtPassword(r *http.Request, ext string, pw directory.Password) error {
	wrong := &directory.InvalidError{Field: "ext_password", Rule: "is not the extension's password (leave it empty to set a new one)"}
	key, src := "ext-password:"+ext, sourceKey(r.RemoteAddr)
	if !s.throttle.allowed(key, src) {
		return wrong
	}
	acc, err := s.store.SIPAccount(r.Context(), ext)
	if err != nil {
		return err
	}
	got := directory.NewSIPSecret(ext, acc.SIP.Realm, pw)
	if subtle.ConstantTimeCompare([]byte(got.HA1MD5), []byte(acc.SIP.HA1MD5)) != 1 {
		s.throttle.failed(key, src)
		return wrong
	}
	return nil
}

// deviceSecret makes the URLs shown once for a device with URL secret token.
func (s *Server) deviceSecret(r *http.Request, d *directory.Device, token string, generated directory.Password) *deviceSecret {
	dir := s.baseURL(r) + "/provision/" + token + "/"
	names := provision.FileNames(d.Vendor, d.MAC)
	sec := &deviceSecret{DeviceID: d.ID, Dir: dir, File: dir + names[0], PhoneBook: dir + "phonebook.xml",
		ExtPassword: string(generated)}
	if d.Vendor == directory.Linphone {
		sec.QR = qrDataURL(sec.File)
	}
	return sec
}

// baseURL is how phones and people reach this server: --base-url, or the
// scheme and host the request came to.
func (s *Server) baseURL(r *http.Request) string {
	if s.cfg.BaseURL != "" {
		return strings.TrimSuffix(s.cfg.BaseURL, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return (&url.URL{Scheme: scheme, Host: r.Host}).String()
}

// deviceAudit is what an audit entry shows of a device: never its secret.
func deviceAudit(d *directory.Device) map[string]any {
	return map[string]any{"mac": d.MAC, "vendor": string(d.Vendor), "model": d.Model, "label": d.Label,
		"user_id": d.UserID, "secret": directory.Redacted}
}

// loadDevice loads the device of the route and checks that the viewer
// manages its user; a device of someone the viewer does not see is not
// found.
func (s *Server) loadDevice(r *http.Request) (*directory.Device, *directory.Access, error) {
	id, err := idParam(r)
	if err != nil {
		return nil, nil, err
	}
	d, err := s.store.Device(r.Context(), id)
	if err != nil {
		return nil, nil, err
	}
	a, err := s.loadUserID(r, d.UserID, authz.UsersManage)
	if err != nil {
		return nil, nil, err
	}
	return d, a, nil
}

// deviceUpdate changes MAC, vendor, model and label; the user and the
// secret change only with a new secret (deviceRenew).
func (s *Server) deviceUpdate(w http.ResponseWriter, r *http.Request) {
	d, _, err := s.loadDevice(r)
	if err == nil {
		err = parseForm(w, r)
	}
	if err == nil {
		before := deviceAudit(d)
		d.MAC, d.Vendor = r.PostFormValue("mac"), directory.Vendor(r.PostFormValue("vendor"))
		d.Model, d.Label = r.PostFormValue("model"), r.PostFormValue("label")
		if err = s.store.UpdateDevice(r.Context(), d); err == nil {
			b, a := changedFields(before, deviceAudit(d))
			s.auditChange(r, viewerOf(r), "device.update", "device:"+itoa(d.ID), "", b, a)
		}
	}
	if fe := formErrors(err); fe != nil {
		s.renderDevices(w, r, http.StatusBadRequest, deviceForm{}, fe, nil)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	done(w, r, "/devices", "saved")
}

// deviceRenew gives a device a new URL secret (the old URL stops working)
// and seals the extension password anew: after the extension password
// changed, or when the URL leaked.
func (s *Server) deviceRenew(w http.ResponseWriter, r *http.Request) {
	d, a, err := s.loadDevice(r)
	if err == nil {
		err = parseForm(w, r)
	}
	var secret *deviceSecret
	if err == nil {
		var token string
		var generated directory.Password
		token, generated, err = s.sealDevice(r, a, d, directory.Password(r.PostFormValue("ext_password")), false)
		if err == nil {
			err = s.store.UpdateDevice(r.Context(), d)
		}
		if err == nil {
			s.audit(r, viewerOf(r), "device.secret", "device:"+itoa(d.ID), "user:"+itoa(a.User.ID))
			secret = s.deviceSecret(r, d, token, generated)
		}
	}
	if fe := formErrors(err); fe != nil {
		s.renderDevices(w, r, http.StatusBadRequest, deviceForm{}, fe, nil)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.renderDevices(w, r, http.StatusOK, deviceForm{Vendor: string(d.Vendor)}, nil, secret)
}

func (s *Server) deviceDelete(w http.ResponseWriter, r *http.Request) {
	if err := s.deleteDevice(r); err != nil {
		s.fail(w, r, err)
		return
	}
	done(w, r, "/devices", "deleted")
}

// deleteDevice is deviceDelete's work, shared with the API.
func (s *Server) deleteDevice(r *http.Request) error {
	d, _, err := s.loadDevice(r)
	if err != nil {
		return err
	}
	if err := s.store.DeleteDevice(r.Context(), d.ID); err != nil {
		return err
	}
	s.auditChange(r, viewerOf(r), "device.delete", "device:"+itoa(d.ID), "", deviceAudit(d), nil)
	return nil
}

// manualSetup is what a person types into a phone set up by hand.
type manualSetup struct {
	Domain  string
	Host    string
	Port    int
	TLSPort int // 0 when there is no TLS listener
}

func (s *Server) manualSetup(r *http.Request) (manualSetup, error) {
	domain, err := s.store.Setting(r.Context(), directory.SettingDomain)
	if err != nil {
		return manualSetup{}, err
	}
	return manualSetup{Domain: domain, Host: s.sipHost(r), Port: s.sipPort(), TLSPort: s.cfg.SIPTLSPort}, nil
}

// sipHost is where phones reach the registrar: Config.SIPHost, or the
// host this request came to (the same machine).
func (s *Server) sipHost(r *http.Request) string {
	if s.cfg.SIPHost != "" {
		return s.cfg.SIPHost
	}
	if h, _, err := net.SplitHostPort(r.Host); err == nil {
		return strings.Trim(h, "[]")
	}
	return r.Host
}

func (s *Server) sipPort() int {
	if s.cfg.SIPPort != 0 {
		return s.cfg.SIPPort
	}
	return 5060
}

// userPhones is what a user's page shows of their phones: the live
// registrations of their extension and what to type into a phone.
type userPhones struct {
	Registrations []directory.Binding
	Manual        manualSetup
	Extension     string
}

func (s *Server) userPhones(r *http.Request, u *directory.User) (*userPhones, error) {
	m, err := s.manualSetup(r)
	if err != nil {
		return nil, err
	}
	return &userPhones{Registrations: s.bindingsByExtension()[u.Extension], Manual: m, Extension: u.Extension}, nil
}

// Pair hands a sub-template the page with one value of its own:
// {{template "manual_setup" ($.Pair .Manual)}}.
func (p *page) Pair(v any) []any { return []any{p, v} }
