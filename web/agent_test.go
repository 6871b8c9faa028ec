package web

import (
	"strings"
	"testing"

	"github.com/switchboard-pbx/switchboard/directory"
)

// TestAgentOutboundReason: a new installation's Agent role calls CRM
// contacts and employees only, and its role page says why in every
// language; where agents may still call any number, it recommends the
// safer scope.
func TestAgentOutboundReason(t *testing.T) {
	f := newFixture(t)
	_, st, ts := f.open(t)
	agent, err := st.RoleByBuiltin(t.Context(), directory.BuiltinAgent)
	if err != nil {
		t.Fatal(err)
	}
	if got := agent.Perms["calls.outbound"]; got != "crm_and_employees" {
		t.Fatalf("a new installation's Agent calls.outbound = %q, want crm_and_employees", got)
	}
	c := f.as(t, ts.URL, pOwner)
	why := map[string]string{"en": "toll fraud", "vi": "gian lận cước", "pl": "fraud telekomunikacyjny"}
	for _, lang := range languages {
		l := lang
		if _, err := st.UpdateUser(t.Context(), f.users[pOwner].ID, directory.UserPatch{Language: &l}); err != nil {
			t.Fatal(err)
		}
		_, body := c.get("/roles/" + itoa(agent.ID))
		if !strings.Contains(body, `id="agent-outbound"`) || !strings.Contains(body, why[lang]) {
			t.Errorf("%s: the Agent role page does not say why outbound calls are limited", lang)
		}
		if strings.Contains(body, "<strong>") {
			t.Errorf("%s: the recommendation shows although agents are already limited", lang)
		}
		_, other := c.get("/roles/" + itoa(f.roles["lead"].ID))
		if strings.Contains(other, `id="agent-outbound"`) {
			t.Errorf("%s: a custom role's page shows the Agent's reason", lang)
		}
	}
	agent.Perms["calls.outbound"] = "any"
	if err := st.UpdateRole(t.Context(), agent, nil); err != nil {
		t.Fatal(err)
	}
	l := "en"
	if _, err := st.UpdateUser(t.Context(), f.users[pOwner].ID, directory.UserPatch{Language: &l}); err != nil {
		t.Fatal(err)
	}
	if _, body := c.get("/roles/" + itoa(agent.ID)); !strings.Contains(body, "may still call any number") {
		t.Error("an Agent role that calls any number gets no recommendation")
	}
}
