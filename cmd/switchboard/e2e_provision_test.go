package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/switchboard-pbx/switchboard/internal/baresip"
)

// TestProvisionedPhoneRegisters: a desk phone added through the API gets
// its Yealink file from `serve` by its secret URL; a real SIP phone
// (baresip) set up with exactly what that file says (user name, password,
// server, port) registers with the PBX.
func TestProvisionedPhoneRegisters(t *testing.T) {
	c := newCLI(t)
	const extPW = "k7#Qm2vLx9"
	c.ok("", "user", "add", "--name", "Lina Provisioned", "--email", "lina@example.com", "--extension", "10001",
		"--ext-password", extPW, "--password", "Str0ng!pass", "--role", "admin")
	tok := strings.TrimSpace(c.ok("", "token", "create", "--email", "lina@example.com"))
	m := startMain(t, c, "20100-20199", nil)
	web := "http://127.0.0.1:" + port(m.WebAddr())
	api := func(method, path, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, web+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := api(http.MethodPost, "/api/v1/devices", `{"user":"10001","vendor":"yealink","mac":"00:15:65:aa:bb:cc","label":"Lina's desk","ext_password":"`+extPW+`"}`)
	if code != http.StatusCreated {
		t.Fatalf("add device: %d %s", code, body)
	}
	var dev struct {
		ConfigURL string `json:"config_url"`
	}
	if err := json.Unmarshal([]byte(body), &dev); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(dev.ConfigURL) // as the phone: no token
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("fetch %s: %d %s", dev.ConfigURL, resp.StatusCode, raw)
	}
	// What a Yealink phone reads: key = value lines.
	cfg := map[string]string{}
	for _, line := range strings.Split(string(raw), "\n") {
		if k, v, ok := strings.Cut(line, " = "); ok {
			cfg[k] = v
		}
	}
	user, pw := cfg["account.1.user_name"], cfg["account.1.password"]
	host, port := cfg["account.1.outbound_proxy.1.address"], cfg["account.1.outbound_proxy.1.port"]
	if host == "" { // the registrar is reached at the domain itself
		host, port = cfg["account.1.sip_server.1.address"], cfg["account.1.sip_server.1.port"]
	}
	if user != "10001" || pw != extPW || host+":"+port != m.SIPAddr() {
		t.Fatalf("provisioned %s:%s user %q password ok %v; SIP at %s\n%s", host, port, user, pw == extPW, m.SIPAddr(), raw)
	}
	phone := baresip.Start(t, baresip.Options{Name: "desk"})
	ev, err := phone.Register("sip:"+user+"@"+host+":"+port, pw)
	if err != nil || ev.Type != "REGISTER_OK" {
		t.Fatalf("register with the provisioned account: %v %s %q", err, ev.Type, ev.Param)
	}
	code, body = api(http.MethodGet, "/api/v1/registrations", "")
	if code != 200 || !strings.Contains(body, `"extension": "10001"`) {
		t.Errorf("the registrar does not list the phone: %d %s", code, body)
	}
	code, body = api(http.MethodGet, "/api/v1/devices", "")
	if code != 200 || !strings.Contains(body, `"last_fetch_ip": "127.0.0.1"`) {
		t.Errorf("the fetch is not noted: %d %s", code, body)
	}
}
