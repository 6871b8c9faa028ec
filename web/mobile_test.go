package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/switchboard-pbx/switchboard/directory"
)

// TestMobileNumbersAsTyped: the new-user form, the user page and the API
// read a mobile number as people type it, with the default country, and
// store E.164; one that is no number is refused naming the field.
func TestMobileNumbersAsTyped(t *testing.T) {
	f := newFixture(t)
	_, st, ts := f.open(t)
	api := f.api(t, ts.URL, pOwner)
	resp, body := api.json(http.MethodPost, "/api/v1/users",
		`{"name":"Ewa Nowak","email":"ewa@example.com","extension":"40031","mobile":"600 100 200"}`)
	if resp.StatusCode != http.StatusCreated || !strings.Contains(body, `"+48600100200"`) {
		t.Fatalf("API create: %d %s", resp.StatusCode, body)
	}
	ewa, _ := st.UserByEmail(t.Context(), "ewa@example.com")
	if err := st.SetSetting(t.Context(), directory.SettingDefaultCountry, "VN"); err != nil {
		t.Fatal(err)
	}
	if resp, body := api.json(http.MethodPatch, "/api/v1/users/"+itoa(ewa.ID), `{"mobile":"0912 345 678"}`); resp.StatusCode != http.StatusOK ||
		!strings.Contains(body, `"+84912345678"`) {
		t.Errorf("API patch: %d %s", resp.StatusCode, body)
	}
	if resp, body := api.json(http.MethodPatch, "/api/v1/users/"+itoa(ewa.ID), `{"mobile":"call me"}`); resp.StatusCode != http.StatusBadRequest ||
		!strings.Contains(body, "mobile") {
		t.Errorf("API patch with no number: %d %s", resp.StatusCode, body)
	}
	c := f.as(t, ts.URL, pOwner)
	if resp, _ := c.post("/users", url.Values{"name": {"Bao Tran"}, "email": {"bao@example.com"}, "extension": {"40032"},
		"ext_password": {"k7#Qm2vLx9"}, "mobile": {"+84 912-345-679"}}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("form create: %d", resp.StatusCode)
	}
	if bao, err := st.UserByEmail(t.Context(), "bao@example.com"); err != nil || bao.Mobile != "+84912345679" {
		t.Errorf("form create stored %+v %v", bao, err)
	}
	if got, _ := st.User(t.Context(), ewa.ID); got.Mobile != "+84912345678" {
		t.Errorf("a refused patch changed the mobile to %q", got.Mobile)
	}
}
