package web

import (
	"io/fs"
	"net/http"
	"runtime/debug"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/switchboard-pbx/switchboard/authz"
)

// register lists every route of the server in one place, each with its
// permission rule: need(p) when the answer does not depend on one resource
// (lists then filter by authz.Visibility), perResource(p) when the handler
// asks authz.Can about the resource it loads.
func (s *Server) register(web, api *router) {
	static, _ := fs.Sub(staticFS, "static")
	web.get("/healthz", public(), s.health)
	web.get("/static/*", public(), s.staticFiles(static))
	web.get("/setup/{token}", public(), s.setupForm)
	web.post("/setup/{token}", public(), s.setupCreate)
	web.get("/login", public(), s.loginForm)
	web.post("/login", public(), s.login)
	web.post("/logout", signedIn(), s.logout)

	web.get("/", signedIn(), s.dashboard) // registrations by users.view, calls by calls.monitor
	web.get("/account", signedIn(), s.account)
	web.post("/account/language", signedIn(), s.accountLanguage)
	web.post("/account/timezone", signedIn(), s.accountTimeZone)
	web.post("/account/forwarding", signedIn(), s.accountForwarding) // the viewer's own
	web.post("/account/password", signedIn(), s.accountPassword)     // the viewer's own, with the current one
	web.post("/account/ext-password", signedIn(), s.accountExtPassword)
	web.post("/account/tokens", signedIn(), s.tokenCreate)
	web.post("/account/tokens/{id}/delete", signedIn(), s.tokenDelete)

	web.get("/users", need(authz.UsersView), s.userList)
	web.get("/users/new", need(authz.UsersCreate), s.userNew)
	web.post("/users", need(authz.UsersCreate), s.userCreate)
	web.get("/users/{id}", perResource(authz.UsersView), s.userShow)
	web.post("/users/{id}", perResource(authz.UsersManage), s.userUpdate)
	web.post("/users/{id}/access", perResource(authz.UsersManage), s.userAccess)
	web.post("/users/{id}/forwarding", perResource(authz.UsersManage), s.userForwarding)
	web.post("/users/{id}/overrides", perResource(authz.UsersManage), s.userOverrides)
	web.post("/users/{id}/overrides/reset", perResource(authz.UsersManage), s.userOverridesReset)
	web.post("/users/{id}/password", perResource(authz.UsersManage), s.userResetPassword)
	web.post("/users/{id}/ext-password", perResource(authz.UsersManage), s.userResetExtPassword)
	web.post("/users/{id}/block", need(authz.UsersCreate), s.userBlock)
	web.post("/users/{id}/unblock", need(authz.UsersCreate), s.userUnblock)
	web.post("/users/{id}/delete", need(authz.UsersCreate), s.userDelete)

	web.get("/groups", need(authz.GroupsManage), s.groupList)
	web.post("/groups", need(authz.GroupsManage), s.groupCreate)
	web.get("/groups/{id}", need(authz.GroupsManage), s.groupShow)
	web.post("/groups/{id}", need(authz.GroupsManage), s.groupUpdate)
	web.post("/groups/{id}/delete", need(authz.GroupsManage), s.groupDelete)

	web.get("/roles", need(authz.RolesManage), s.roleList)
	web.get("/roles/new", need(authz.RolesManage), s.roleNew)
	web.post("/roles", need(authz.RolesManage), s.roleCreate)
	web.get("/roles/{id}", need(authz.RolesManage), s.roleShow)
	web.post("/roles/{id}", need(authz.RolesManage), s.roleUpdate)
	web.post("/roles/{id}/delete", need(authz.RolesManage), s.roleDelete)

	web.get("/contacts", need(authz.ContactsView), s.contactList)
	web.get("/contacts/new", need(authz.ContactsManage), s.contactNew)
	web.post("/contacts", need(authz.ContactsManage), s.contactCreate)
	web.get("/contacts/{id}", perResource(authz.ContactsView), s.contactShow)
	web.post("/contacts/{id}", perResource(authz.ContactsManage), s.contactUpdate)
	web.post("/contacts/{id}/delete", perResource(authz.ContactsDelete), s.contactDelete)

	web.get("/calls", need(authz.CallsHistory), s.callList)
	web.get("/calls.csv", need(authz.CallsHistory), s.callCSV)
	web.get("/recordings", needAny(authz.RecordingsListen, authz.RecordingsDownload), s.recordingList)
	web.get("/recordings/{id}/audio", perResource(authz.RecordingsListen), s.recordingAudio)
	web.get("/recordings/{id}/download", perResource(authz.RecordingsDownload), s.recordingDownload)
	web.get("/voicemail", signedIn(), s.voicemailPage) // one's own messages
	web.get("/voicemail/{id}/audio", perResource(authz.RecordingsListen), s.voicemailAudio)
	web.post("/voicemail/{id}/heard", perResource(authz.RecordingsListen), s.voicemailHeard)
	web.post("/voicemail/{id}/delete", perResource(authz.RecordingsListen), s.voicemailDelete)
	web.post("/voicemail/greeting", signedIn(), s.voicemailGreeting) // one's own; a group's: ivr.control over it
	web.post("/recordings/{id}/delete", need(authz.RecordingsDelete), s.recordingDelete)

	web.get("/settings", need(authz.SettingsTelephony), s.settingsShow)
	web.post("/settings", need(authz.SettingsTelephony), s.settingsUpdate)
	web.post("/settings/trunks", need(authz.SettingsTelephony), s.trunkSave)
	web.post("/settings/trunks/delete", need(authz.SettingsTelephony), s.trunkDelete)
	web.get("/security", need(authz.SettingsTelephony), s.securityShow)
	web.post("/security/lift", need(authz.SettingsTelephony), s.banLift)
	web.get("/numbers", need(authz.NumbersManage), s.numbersShow)
	web.post("/numbers", need(authz.NumbersManage), s.didSave)
	web.post("/numbers/delete", need(authz.NumbersManage), s.didDelete)
	web.get("/audit", need(authz.AuditView), s.auditList)

	// Phones that configure themselves: devices are managed
	// with users.manage over their user; /provision/ has no session, the
	// secret in its path is the credential.
	web.get("/devices", need(authz.UsersManage), s.deviceList)
	web.post("/devices", need(authz.UsersManage), s.deviceCreate)
	web.post("/devices/{id}", perResource(authz.UsersManage), s.deviceUpdate)
	web.post("/devices/{id}/secret", perResource(authz.UsersManage), s.deviceRenew)
	web.post("/devices/{id}/delete", perResource(authz.UsersManage), s.deviceDelete)
	web.get("/provision/{token}/{file}", public(), s.provisionFile)

	api.get("/", public(), s.apiIndex)
	api.get("/me", signedIn(), s.apiMe)
	api.get("/users", need(authz.UsersView), s.apiUsers)
	api.get("/users/{id}", perResource(authz.UsersView), s.apiUser)
	api.get("/groups", need(authz.GroupsManage), s.apiGroups)
	api.get("/groups/{id}", need(authz.GroupsManage), s.apiGroup)
	api.get("/roles", need(authz.RolesManage), s.apiRoles)
	api.get("/roles/{id}", need(authz.RolesManage), s.apiRole)
	api.get("/contacts", need(authz.ContactsView), s.apiContacts)
	api.get("/contacts/{id}", perResource(authz.ContactsView), s.apiContact)
	api.get("/calls", need(authz.CallsHistory), s.apiCalls)
	api.get("/calls/{id}", perResource(authz.CallsHistory), s.apiCall)
	api.get("/recordings", needAny(authz.RecordingsListen, authz.RecordingsDownload), s.apiRecordings)
	api.get("/recordings/{id}", needAny(authz.RecordingsListen, authz.RecordingsDownload), s.apiRecording)
	api.get("/recordings/{id}/audio", perResource(authz.RecordingsListen), s.recordingAudio)
	api.get("/recordings/{id}/download", perResource(authz.RecordingsDownload), s.recordingDownload)
	api.get("/voicemail", need(authz.RecordingsListen), s.apiVoicemails) // one's own, or ?user= in scope
	api.get("/voicemail/mailbox", signedIn(), s.apiMailbox)              // one's own mailbox setting
	api.put("/voicemail/mailbox", signedIn(), s.apiMailboxUpdate)
	api.put("/voicemail/mailbox/greeting", signedIn(), s.apiGreetingUpload) // {"wav": base64}
	api.get("/users/{id}/voicemail", perResource(authz.UsersManage), s.apiMailbox)
	api.put("/users/{id}/voicemail", perResource(authz.UsersManage), s.apiMailboxUpdate)
	api.get("/groups/{id}/voicemail", perResource(authz.IVRControl), s.apiMailbox) // voicemail_group.go
	api.put("/groups/{id}/voicemail", perResource(authz.IVRControl), s.apiMailboxUpdate)
	api.put("/groups/{id}/voicemail/greeting", perResource(authz.IVRControl), s.apiGreetingUpload)
	api.get("/voicemail/{id}/audio", perResource(authz.RecordingsListen), s.voicemailAudio)
	api.post("/voicemail/{id}/heard", perResource(authz.RecordingsListen), s.apiVoicemailHeard)
	api.delete("/voicemail/{id}", perResource(authz.RecordingsListen), s.apiDelete(s.deleteVoicemail))
	api.get("/registrations", need(authz.UsersView), s.apiRegistrations)
	api.get("/audit", need(authz.AuditView), s.apiAudit)

	// Changes: the same rules as the forms above, and the same functions.
	api.post("/users", need(authz.UsersCreate), s.apiUserCreate)
	api.patch("/users/{id}", perResource(authz.UsersManage), s.apiUserUpdate)
	api.put("/users/{id}/overrides", perResource(authz.UsersManage), s.apiUserOverrides)
	api.post("/users/{id}/ext-password", perResource(authz.UsersManage), s.apiUserExtPassword)
	api.post("/users/{id}/block", need(authz.UsersCreate), s.apiUserBlock)
	api.post("/users/{id}/unblock", need(authz.UsersCreate), s.apiUserUnblock)
	api.delete("/users/{id}", need(authz.UsersCreate), s.apiUserDelete)
	api.post("/groups", need(authz.GroupsManage), s.apiGroupCreate)
	api.patch("/groups/{id}", need(authz.GroupsManage), s.apiGroupUpdate)
	api.delete("/groups/{id}", need(authz.GroupsManage), s.apiDelete(s.deleteGroup))
	api.post("/groups/{id}/members/{user_id}", need(authz.GroupsManage), s.apiGroupMemberAdd) // and users.manage over the user
	api.delete("/groups/{id}/members/{user_id}", need(authz.GroupsManage), s.apiGroupMemberRemove)
	api.post("/roles", need(authz.RolesManage), s.apiRoleCreate)
	api.patch("/roles/{id}", need(authz.RolesManage), s.apiRoleUpdate)
	api.delete("/roles/{id}", need(authz.RolesManage), s.apiDelete(s.deleteRole))
	api.post("/contacts", need(authz.ContactsManage), s.apiContactCreate)
	api.patch("/contacts/{id}", perResource(authz.ContactsManage), s.apiContactUpdate)
	api.delete("/contacts/{id}", perResource(authz.ContactsDelete), s.apiDelete(s.deleteContact))
	api.delete("/recordings/{id}", need(authz.RecordingsDelete), s.apiDelete(s.deleteRecording))
	api.get("/trunks", need(authz.SettingsTelephony), s.apiTrunks)
	api.post("/trunks", need(authz.SettingsTelephony), s.apiTrunkCreate)
	api.get("/trunks/{name}", need(authz.SettingsTelephony), s.apiTrunkGet)
	api.put("/trunks/{name}", need(authz.SettingsTelephony), s.apiTrunkUpdate)
	api.delete("/trunks/{name}", need(authz.SettingsTelephony), s.apiTrunkDelete)
	api.get("/dids", need(authz.NumbersManage), s.apiDIDs)
	api.post("/dids", need(authz.NumbersManage), s.apiDIDCreate)
	api.get("/dids/{number}", need(authz.NumbersManage), s.apiDID)
	api.put("/dids/{number}", need(authz.NumbersManage), s.apiDIDUpdate)
	api.delete("/dids/{number}", need(authz.NumbersManage), s.apiDIDDelete)
	api.get("/bans", need(authz.SettingsTelephony), s.apiBans)
	api.delete("/bans/{ip}", need(authz.SettingsTelephony), s.apiBanDelete)
	api.get("/devices", need(authz.UsersManage), s.apiDevices)
	api.post("/devices", need(authz.UsersManage), s.apiDeviceCreate)
	api.get("/devices/{id}", perResource(authz.UsersManage), s.apiDevice)
	api.patch("/devices/{id}", perResource(authz.UsersManage), s.apiDeviceUpdate)
	api.delete("/devices/{id}", perResource(authz.UsersManage), s.apiDelete(s.deleteDevice))

	s.registerPeople(web, api) // users' import and export, invitations, mail settings
	s.registerHours(web, api)  // office hours and the numbers that follow them (hours.go)
	s.registerQueues(web, api) // call queues and their live board (queues.go)
	s.registerIVR(web, api)    // auto attendant menus (ivr.go)
}

// build makes the router: browser routes behind cross-origin protection,
// sessions and form tokens; API routes under /api/v1 behind bearer tokens.
// register adds the routes; any route without a rule makes build fail.
func (s *Server) build(register func(web, api *router)) (http.Handler, error) {
	mux := chi.NewRouter()
	mux.Use(s.recoverer, s.deadline)
	var table []Route
	var errs []error
	var web, api *router
	mux.Group(func(r chi.Router) {
		r.Use(http.NewCrossOriginProtection().Handler, s.sessions)
		web = &router{s: s, mux: r, table: &table, errs: &errs}
	})
	mux.Route("/api/v1", func(r chi.Router) {
		r.Use(s.bearer, jsonBodies)
		api = &router{s: s, mux: r, prefix: "/api/v1", api: true, table: &table, errs: &errs}
	})
	register(web, api)
	mux.NotFound(func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, errNotFound)
	})
	mux.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		if isAPI(r) {
			writeJSON(w, http.StatusMethodNotAllowed, map[string]apiError{"error": {Code: "method_not_allowed", Message: "method not allowed"}})
			return
		}
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	})
	if err := check(mux, table, errs); err != nil {
		return nil, err
	}
	s.routes = table
	return mux, nil
}

// staticFiles serves the embedded assets, files only: a directory (the
// /static/ index included) is not found rather than listed.
func (s *Server) staticFiles(static fs.FS) http.HandlerFunc {
	files := http.StripPrefix("/static/", http.FileServerFS(static))
	return func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, "/static/")
		if st, err := fs.Stat(static, strings.TrimSuffix(name, "/")); name == "" || strings.HasSuffix(name, "/") ||
			err != nil || st.IsDir() {
			s.fail(w, r, errNotFound)
			return
		}
		w.Header().Set("X-Content-Type-Options", "nosniff")
		files.ServeHTTP(w, r)
	}
}

// recoverer turns a panic, which is a bug, into a logged stack and a 500.
func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.log.Error("panic", "method", r.Method, "path", r.URL.Path, "panic", p, "stack", string(debug.Stack()))
				http.Error(w, "internal error", http.StatusInternalServerError)
			}
		}()
		next.ServeHTTP(w, r)
	})
}

func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	if err := s.store.Ping(r.Context()); err != nil {
		http.Error(w, "store unavailable", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok\n"))
}
