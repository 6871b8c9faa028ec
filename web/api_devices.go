package web

import (
	"net/http"
	"time"

	"github.com/switchboard-pbx/switchboard/authz"
	"github.com/switchboard-pbx/switchboard/directory"
)

type deviceJSON struct {
	ID          int64      `json:"id"`
	MAC         string     `json:"mac"`
	Vendor      string     `json:"vendor"`
	Model       string     `json:"model"`
	Label       string     `json:"label"`
	UserID      int64      `json:"user_id"`
	LastFetchAt *time.Time `json:"last_fetch_at"`
	LastFetchIP string     `json:"last_fetch_ip,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	// Shown once, when the device is created or gets a new secret.
	ProvisioningURL string `json:"provisioning_url,omitempty"`
	ConfigURL       string `json:"config_url,omitempty"`
	PhoneBookURL    string `json:"phonebook_url,omitempty"`
	ExtPassword     string `json:"ext_password,omitempty"`
}

func toDeviceJSON(d *directory.Device, sec *deviceSecret) deviceJSON {
	out := deviceJSON{ID: d.ID, MAC: d.MAC, Vendor: string(d.Vendor), Model: d.Model, Label: d.Label, UserID: d.UserID,
		LastFetchIP: d.LastFetchIP, CreatedAt: d.CreatedAt}
	if !d.LastFetchAt.IsZero() {
		t := d.LastFetchAt
		out.LastFetchAt = &t
	}
	if sec != nil {
		out.ProvisioningURL, out.ConfigURL, out.PhoneBookURL, out.ExtPassword = sec.Dir, sec.File, sec.PhoneBook, sec.ExtPassword
	}
	return out
}

func (s *Server) apiDevices(w http.ResponseWriter, r *http.Request) {
	f := directory.DeviceFilter{Vis: authz.Visibility(subject(r), authz.UsersManage), Page: pageParam(r)}
	ds, err := s.store.Devices(r.Context(), f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]deviceJSON, len(ds))
	for i := range ds {
		out[i] = toDeviceJSON(&ds[i], nil)
	}
	writeJSON(w, http.StatusOK, list(out, f.Page, 0))
}

func (s *Server) apiDevice(w http.ResponseWriter, r *http.Request) {
	d, _, err := s.loadDevice(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toDeviceJSON(d, nil))
}

type deviceBodyJSON struct {
	User        *string `json:"user"` // an extension or an email; create only
	MAC         *string `json:"mac"`
	Vendor      *string `json:"vendor"`
	Model       *string `json:"model"`
	Label       *string `json:"label"`
	ExtPassword *string `json:"ext_password"` // create only: the extension's password, or none to set a new one
}

func (in *deviceBodyJSON) apply(d *directory.Device) {
	for _, f := range []struct {
		dst *string
		src *string
	}{{&d.MAC, in.MAC}, {(*string)(&d.Vendor), in.Vendor}, {&d.Model, in.Model}, {&d.Label, in.Label}} {
		if f.src != nil {
			*f.dst = *f.src
		}
	}
}

func (s *Server) apiDeviceCreate(w http.ResponseWriter, r *http.Request) {
	var in deviceBodyJSON
	err := readJSON(w, r, &in)
	var d directory.Device
	var sec *deviceSecret
	if err == nil {
		in.apply(&d)
		var who, pw string
		if in.User != nil {
			who = *in.User
		}
		if in.ExtPassword != nil {
			pw = *in.ExtPassword
		}
		sec, err = s.createDevice(r, &d, who, directory.Password(pw))
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	created(w, "/api/v1/devices/"+itoa(d.ID), toDeviceJSON(&d, sec))
}

func (s *Server) apiDeviceUpdate(w http.ResponseWriter, r *http.Request) {
	d, _, err := s.loadDevice(r)
	var in deviceBodyJSON
	if err == nil {
		err = readJSON(w, r, &in)
	}
	if err == nil && (in.User != nil || in.ExtPassword != nil) {
		err = &directory.InvalidError{Field: "user", Rule: "cannot be changed: add a new device"}
	}
	if err == nil {
		before := deviceAudit(d)
		in.apply(d)
		if err = s.store.UpdateDevice(r.Context(), d); err == nil {
			b, a := changedFields(before, deviceAudit(d))
			s.auditChange(r, viewerOf(r), "device.update", "device:"+itoa(d.ID), "", b, a)
		}
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toDeviceJSON(d, nil))
}
