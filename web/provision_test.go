package web

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"html"
	"image/png"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
)

// fixtureExtPassword is every fixture user's extension password.
const fixtureExtPassword = "Ext-pass-123"

// openLiveWith is fixture.open with live registrations and a configuration.
func (f *fixture) openLiveWith(t *testing.T, live Live, cfg Config) (directory.Store, *httptest.Server) {
	t.Helper()
	_, st, ts := f.openWith(t, live, cfg)
	return st, ts
}

// addDevice adds a device through the API as persona p and returns the
// answer (with its URLs, shown once).
func addDevice(t *testing.T, f *fixture, base, p, body string) (int, deviceJSON, string) {
	t.Helper()
	resp, out := f.api(t, base, p).json(http.MethodPost, "/api/v1/devices", body)
	var d deviceJSON
	if resp.StatusCode == http.StatusCreated {
		if err := json.Unmarshal([]byte(out), &d); err != nil {
			t.Fatalf("device answer: %v\n%s", err, out)
		}
	}
	return resp.StatusCode, d, out
}

func TestProvisionFetchEveryVendor(t *testing.T) {
	f := newFixture(t)
	_, st, ts := f.open(t)
	agent := f.users[pAgent]
	for i, c := range []struct {
		vendor, mac string
		files       []string
		want        []string
	}{
		{"yealink", "00:15:65:AB:CD:01", []string{"001565abcd01.cfg", "001565ABCD01.cfg"},
			[]string{"#!version:1.0.0.1", "account.1.user_name = 20004", "account.1.password = Ext-pass-123",
				"account.1.display_name = Agent Person", "remote_phonebook.data.1.url = " + ts.URL + "/provision/"}},
		{"grandstream", "000b82000002", []string{"cfg000b82000002.xml"},
			[]string{"<gs_provision", "<P35>20004</P35>", "<P34>Ext-pass-123</P34>", "<P3>Agent Person</P3>"}},
		{"polycom", "0004f2000003", []string{"0004f2000003.cfg", "0004f2000003-phone.cfg", "0004f2000003-directory.xml"},
			[]string{"reg.1.auth.userId=\"20004\"", "reg.1.auth.password=\"Ext-pass-123\"", "<item_list>", "<ct>+48221234567</ct>"}},
		{"snom", "000413000004", []string{"000413000004.xml"},
			[]string{"<user_name1 perm=\"R\">20004</user_name1>", "<user_pass1 perm=\"R\">Ext-pass-123</user_pass1>",
				"<user_realname1 perm=\"R\">Agent Person</user_realname1>"}},
		{"linphone", "", []string{"linphone.xml"},
			[]string{"http://www.linphone.org/xsds/lpconfig.xsd", `<section name="auth_info_0"`,
				`<entry name="passwd" overwrite="true">Ext-pass-123</entry>`}},
	} {
		status, d, body := addDevice(t, f, ts.URL, pOwner, `{"user":"20004","vendor":"`+c.vendor+`","mac":"`+c.mac+
			`","label":"Desk `+itoa(int64(i))+`","ext_password":"`+fixtureExtPassword+`"}`)
		if status != http.StatusCreated {
			t.Fatalf("%s: add device: %d %s", c.vendor, status, body)
		}
		if d.ExtPassword != "" {
			t.Errorf("%s: a typed extension password was replaced by %q", c.vendor, d.ExtPassword)
		}
		if !strings.HasPrefix(d.ConfigURL, ts.URL+"/provision/") {
			t.Fatalf("%s: config URL %q", c.vendor, d.ConfigURL)
		}
		var all string
		for _, name := range c.files {
			resp, got := newClient(t, ts.URL).get(strings.TrimPrefix(d.ProvisioningURL, ts.URL) + name)
			if resp.StatusCode != 200 {
				t.Errorf("%s: GET %s: %d %s", c.vendor, name, resp.StatusCode, got)
			}
			if resp.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("%s: %s may be cached", c.vendor, name)
			}
			all += got
		}
		for _, w := range c.want {
			if !strings.Contains(all, w) {
				t.Errorf("%s configuration lacks %q:\n%s", c.vendor, w, all)
			}
		}
		got, err := st.Device(t.Context(), d.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.LastFetchAt.IsZero() || got.LastFetchIP != "127.0.0.1" {
			t.Errorf("%s: fetch not noted: %+v", c.vendor, got)
		}
		es, err := st.AuditLog(t.Context(), directory.AuditFilter{Action: "device.provision", Object: "device:" + itoa(d.ID)})
		if err != nil {
			t.Fatal(err)
		}
		if len(es) != len(c.files) || es[0].IP != "127.0.0.1" {
			t.Errorf("%s: %d fetches audited, want %d: %+v", c.vendor, len(es), len(c.files), es)
		}
		if es[0].Actor != "phone "+strings.NewReplacer(":", "").Replace(strings.ToLower(c.mac)) && c.mac != "" {
			t.Errorf("%s: fetch audited as %q", c.vendor, es[0].Actor)
		}
		if strings.Contains(es[0].Detail+es[0].After, "Ext-pass") {
			t.Errorf("%s: the audit entry shows the password", c.vendor)
		}
		_ = agent
	}
}

// TestProvisionRefusals: without the device's secret nothing is served,
// and every refusal looks the same: an unknown secret, the secret with
// another MAC's file, the secret of a blocked user. Unknown secrets are
// throttled per source like logins.
func TestProvisionRefusals(t *testing.T) {
	f := newFixture(t)
	_, st, ts := f.open(t)
	status, d, body := addDevice(t, f, ts.URL, pOwner, `{"user":"agent@example.com","vendor":"yealink","mac":"001565abcd01","ext_password":"`+fixtureExtPassword+`"}`)
	if status != http.StatusCreated {
		t.Fatalf("add device: %d %s", status, body)
	}
	secret := strings.TrimSuffix(strings.TrimPrefix(d.ProvisioningURL, ts.URL+"/provision/"), "/")
	anon := newClient(t, ts.URL)
	same := func(name, path string) {
		t.Helper()
		resp, got := anon.get(path)
		if resp.StatusCode != http.StatusNotFound || got != "not found\n" {
			t.Errorf("%s: %d %q, want 404 \"not found\"", name, resp.StatusCode, got)
		}
		if strings.Contains(got, "Ext-pass") {
			t.Errorf("%s: the password leaked", name)
		}
	}
	same("no secret", "/provision//001565abcd01.cfg")
	same("another MAC under the secret", "/provision/"+secret+"/001565abcd02.cfg")
	same("the common file", "/provision/"+secret+"/y000000000000.cfg")
	same("the secret one character off", "/provision/"+secret[:len(secret)-1]+"x/001565abcd01.cfg")
	if err := st.SetUserState(t.Context(), f.users[pAgent].ID, directory.UserBlocked); err != nil {
		t.Fatal(err)
	}
	same("a blocked user's phone", "/provision/"+secret+"/001565abcd01.cfg")
	if err := st.SetUserState(t.Context(), f.users[pAgent].ID, directory.UserActive); err != nil {
		t.Fatal(err)
	}
	if resp, _ := anon.get("/provision/" + secret + "/001565abcd01.cfg"); resp.StatusCode != 200 {
		t.Fatalf("the right secret: %d", resp.StatusCode)
	}
	// Two unknown secrets so far; three more reach the limit of five.
	for i := 0; i < 3; i++ {
		same("guess", "/provision/"+itoa(int64(i))+"guess/001565abcd01.cfg")
	}
	resp, _ := anon.get("/provision/another-guess/001565abcd01.cfg")
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("sixth unknown secret from one source: %d, want 429", resp.StatusCode)
	}
	es, err := st.AuditLog(t.Context(), directory.AuditFilter{Action: "device.provision.denied"})
	if err != nil {
		t.Fatal(err)
	}
	if len(es) < 7 {
		t.Errorf("%d refused fetches audited, want at least 7", len(es))
	}
}

// TestProvisionExtPassword: a typed extension password must be the
// extension's; none typed sets a new one, which the phone then gets.
func TestProvisionExtPassword(t *testing.T) {
	f := newFixture(t)
	_, st, ts := f.open(t)
	status, _, body := addDevice(t, f, ts.URL, pOwner, `{"user":"20004","vendor":"snom","mac":"000413000001","ext_password":"wrong-one"}`)
	if status != http.StatusBadRequest || !strings.Contains(body, "ext_password") {
		t.Errorf("wrong extension password: %d %s, want 400 naming ext_password", status, body)
	}
	if ds, _ := st.Devices(t.Context(), directory.DeviceFilter{Vis: directory.Visibility{All: true}}); len(ds) != 1 {
		t.Errorf("a refused device was stored: %d devices", len(ds))
	}
	status, d, body := addDevice(t, f, ts.URL, pOwner, `{"user":"20004","vendor":"snom","mac":"000413000001"}`)
	if status != http.StatusCreated || len(d.ExtPassword) < 12 {
		t.Fatalf("no extension password: %d %s", status, body)
	}
	acc, err := st.SIPAccount(t.Context(), "20004")
	if err != nil {
		t.Fatal(err)
	}
	if directory.NewSIPSecret("20004", acc.SIP.Realm, directory.Password(d.ExtPassword)) != acc.SIP {
		t.Error("the generated password is not the extension's now")
	}
	_, cfg := newClient(t, ts.URL).get(strings.TrimPrefix(d.ConfigURL, ts.URL))
	var esc strings.Builder
	_ = xml.EscapeText(&esc, []byte(d.ExtPassword))
	if !strings.Contains(cfg, "<user_pass1 perm=\"R\">"+esc.String()+"<") {
		t.Errorf("the phone does not get the new password:\n%s", cfg)
	}
	status, _, body = addDevice(t, f, ts.URL, pOwner, `{"user":"20004","vendor":"yealink","mac":"00-04-13-00-00-01"}`)
	if status != http.StatusConflict || !strings.Contains(body, "mac") {
		t.Errorf("the same MAC twice: %d %s, want 409 on mac", status, body)
	}
	if now, err := st.SIPAccount(t.Context(), "20004"); err != nil || now.SIP != acc.SIP {
		t.Error("a refused phone still set a new extension password")
	}
	// The team lead manages Sales (and Sales North); not Support's peer.
	status, _, body = addDevice(t, f, ts.URL, pLead, `{"user":"peer@example.com","vendor":"yealink","mac":"001565000009"}`)
	if status != http.StatusBadRequest || !strings.Contains(body, "user") {
		t.Errorf("a lead adding a phone for someone outside their department: %d %s, want 400 unknown user", status, body)
	}
}

// TestPhoneBookVisibility: each phone's book holds what its user may see
// on the contacts page, in the vendor's format.
func TestPhoneBookVisibility(t *testing.T) {
	f := newFixture(t)
	_, _, ts := f.open(t)
	book := func(user, vendor, mac string) string {
		t.Helper()
		status, d, body := addDevice(t, f, ts.URL, pOwner, `{"user":"`+user+`","vendor":"`+vendor+`","mac":"`+mac+`","ext_password":"`+fixtureExtPassword+`"}`)
		if status != http.StatusCreated {
			t.Fatalf("add device: %d %s", status, body)
		}
		resp, got := newClient(t, ts.URL).get(strings.TrimPrefix(d.PhoneBookURL, ts.URL))
		if resp.StatusCode != 200 {
			t.Fatalf("phone book: %d %s", resp.StatusCode, got)
		}
		return got
	}
	agent := book("agent@example.com", "yealink", "001565000011")
	peer := book("peer@example.com", "grandstream", "000b82000012")
	lead := book("lead@example.com", "snom", "000413000013")
	owner := book("owner@example.com", "yealink", "001565000014")
	for _, c := range []struct {
		name, book string
		has, hasnt []string
	}{
		{"agent (own contacts)", agent, []string{"<YealinkIPPhoneDirectory>", "Acme (Sales)", "+48221234567"}, []string{"Globex"}},
		{"peer (own contacts)", peer, []string{"<AddressBook>", "Globex", "<phonenumber>+48221234567</phonenumber>"}, []string{"Acme"}},
		{"lead (department)", lead, []string{"<SnomIPPhoneDirectory>", "Acme (Sales)"}, []string{"Globex"}},
		{"owner (any)", owner, []string{"Acme (Sales)", "Globex (Support)", "<Telephone>20004</Telephone>"}, nil},
	} {
		for _, w := range c.has {
			if !strings.Contains(c.book, w) {
				t.Errorf("%s: phone book lacks %q:\n%s", c.name, w, c.book)
			}
		}
		for _, w := range c.hasnt {
			if strings.Contains(c.book, w) {
				t.Errorf("%s: phone book shows %q, which they may not see:\n%s", c.name, w, c.book)
			}
		}
	}
}

// TestRegistrationsOnUserPage: the user's page and the account page show
// the extension's registrations and what to type into a phone by hand.
func TestRegistrationsOnUserPage(t *testing.T) {
	f := newFixture(t)
	live := &fakeLive{regs: []directory.Binding{{Extension: "20004", Contact: "sip:20004@192.0.2.10:5062",
		Source: "192.0.2.10:5062", Transport: "TCP", UserAgent: "Yealink SIP-T54W 96.86.0.100", Expires: time.Now().Add(time.Hour)},
		{Extension: "20005", Source: "192.0.2.11:5060", Transport: "UDP", UserAgent: "Peer's phone", Expires: time.Now().Add(time.Hour)}}}
	_, ts := f.openLiveWith(t, live, Config{SIPPort: 5070, SIPTLSPort: 5071, SIPHost: "pbx.example.net"})
	for _, c := range []struct{ who, path string }{{pOwner, "/users/" + itoa(f.users[pAgent].ID)}, {pAgent, "/account"}} {
		resp, body := f.as(t, ts.URL, c.who).get(c.path)
		if resp.StatusCode != 200 {
			t.Fatalf("%s %s: %d", c.who, c.path, resp.StatusCode)
		}
		for _, w := range []string{"Yealink SIP-T54W 96.86.0.100", "192.0.2.10:5062", "TCP", "<code>pbx.example.net</code>",
			"<code>5070</code>", "<code>5071</code>", "<code>switchboard.local</code>"} {
			if !strings.Contains(body, w) {
				t.Errorf("%s %s lacks %q", c.who, c.path, w)
			}
		}
		if strings.Contains(body, "Peer&#39;s phone") || strings.Contains(body, "192.0.2.11") {
			t.Errorf("%s %s shows another extension's registration", c.who, c.path)
		}
	}
}

// TestDeviceFormLinphoneQR: the Devices form adds a softphone without a
// MAC and shows its provisioning URL once, with a QR code of it for the
// mobile app; the list afterwards shows no secret.
func TestDeviceFormLinphoneQR(t *testing.T) {
	f := newFixture(t)
	_, _, ts := f.open(t)
	c := f.as(t, ts.URL, pAdmin)
	resp, body := c.post("/devices", url.Values{"user": {"agent@example.com"}, "vendor": {"linphone"},
		"label": {"Agent's mobile"}, "ext_password": {fixtureExtPassword}})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("add: %d\n%s", resp.StatusCode, body)
	}
	i := strings.Index(body, `id="provision-file">`)
	if i < 0 || !strings.Contains(body, `id="provision-qr" src="data:image/png;base64,`) {
		t.Fatalf("no URL or QR code:\n%s", body)
	}
	file := body[i+len(`id="provision-file">`):]
	file = file[:strings.Index(file, "<")]
	if !strings.HasSuffix(file, "/linphone.xml") {
		t.Fatalf("Linphone URL %q", file)
	}
	qr := body[strings.Index(body, `data:image/png;base64,`)+len(`data:image/png;base64,`):]
	raw, err := base64.StdEncoding.DecodeString(html.UnescapeString(qr[:strings.Index(qr, `"`)]))
	if err != nil {
		t.Fatalf("QR code: %v", err)
	}
	if img, err := png.Decode(bytes.NewReader(raw)); err != nil || img.Bounds().Dx() != 256 {
		t.Errorf("QR code is no 256 px PNG: %v", err)
	}
	secret := strings.TrimSuffix(strings.TrimPrefix(file, ts.URL+"/provision/"), "/linphone.xml")
	_, list := c.get("/devices")
	if strings.Contains(list, secret) {
		t.Error("the list shows the secret again")
	}
	resp, _ = newClient(t, ts.URL).get(strings.TrimPrefix(file, ts.URL))
	if resp.StatusCode != 200 {
		t.Errorf("fetch %s: %d", file, resp.StatusCode)
	}
	// A bad form names the fields and stores nothing.
	resp, body = c.post("/devices", url.Values{"user": {"nobody@example.com"}, "vendor": {"yealink"}, "mac": {"xyz"}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "user:") {
		t.Errorf("bad form: %d", resp.StatusCode)
	}
}

// TestDeviceRenewSecret: a new secret URL replaces the old one at once.
func TestDeviceRenewSecret(t *testing.T) {
	f := newFixture(t)
	_, _, ts := f.open(t)
	status, d, body := addDevice(t, f, ts.URL, pOwner, `{"user":"20004","vendor":"snom","mac":"000413000021","ext_password":"`+fixtureExtPassword+`"}`)
	if status != http.StatusCreated {
		t.Fatalf("add: %d %s", status, body)
	}
	c := f.as(t, ts.URL, pOwner)
	if resp, _ := c.post("/devices/"+itoa(d.ID)+"/secret", url.Values{"ext_password": {"not-it"}}); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("renew with a wrong password: %d, want 400", resp.StatusCode)
	}
	resp, page := c.post("/devices/"+itoa(d.ID)+"/secret", url.Values{"ext_password": {fixtureExtPassword}})
	i := strings.Index(page, `id="provision-file">`)
	if resp.StatusCode != 200 || i < 0 {
		t.Fatalf("renew: %d", resp.StatusCode)
	}
	file := page[i+len(`id="provision-file">`):]
	file = strings.TrimPrefix(file[:strings.Index(file, "<")], ts.URL)
	anon := newClient(t, ts.URL)
	if resp, _ := anon.get(strings.TrimPrefix(d.ConfigURL, ts.URL)); resp.StatusCode != http.StatusNotFound {
		t.Errorf("the old URL after renewal: %d, want 404", resp.StatusCode)
	}
	if resp, cfg := anon.get(file); resp.StatusCode != 200 || !strings.Contains(cfg, "Ext-pass-123") {
		t.Errorf("the new URL: %d", resp.StatusCode)
	}
}
