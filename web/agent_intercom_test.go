package web

import (
	"strings"
	"testing"

	"github.com/switchboard-pbx/switchboard/directory"
)

// TestAgentIntercomReason: the Agent role reaches nobody on intercom and
// paging until an admin decides otherwise, the roles matrix
// offers calls.intercom with its three scopes, and the Agent's role page
// says why in every language.
func TestAgentIntercomReason(t *testing.T) {
	f := newFixture(t)
	_, st, ts := f.open(t)
	agent, err := st.RoleByBuiltin(t.Context(), directory.BuiltinAgent)
	if err != nil {
		t.Fatal(err)
	}
	if got := agent.Perms["calls.intercom"]; got != "none" {
		t.Fatalf("Agent calls.intercom = %q, want none", got)
	}
	c := f.as(t, ts.URL, pOwner)
	why := map[string]string{"en": "opens the microphone", "vi": "mở micro", "pl": "otwiera mikrofon"}
	for _, lang := range languages {
		l := lang
		if _, err := st.UpdateUser(t.Context(), f.users[pOwner].ID, directory.UserPatch{Language: &l}); err != nil {
			t.Fatal(err)
		}
		_, body := c.get("/roles/" + itoa(agent.ID))
		if !strings.Contains(body, `id="agent-intercom"`) || !strings.Contains(body, why[lang]) {
			t.Errorf("%s: the Agent role page does not say why agents have no intercom", lang)
		}
		for _, scope := range []string{"none", "department", "any"} {
			if !strings.Contains(body, `name="perm.calls.intercom" value="`+scope+`"`) {
				t.Errorf("%s: the matrix offers no %s for calls.intercom", lang, scope)
			}
		}
		if _, other := c.get("/roles/" + itoa(f.roles["lead"].ID)); strings.Contains(other, `id="agent-intercom"`) {
			t.Errorf("%s: a custom role's page shows the Agent's reason", lang)
		}
	}
}
