package web

import "github.com/switchboard-pbx/switchboard/authz"

// registerPeople adds the routes that bring people in: the
// users' CSV import and export, invitations by e-mail and the SMTP
// settings they go through. register calls it; the rules read as there.
func (s *Server) registerPeople(web, api *router) {
	web.get("/users.csv", need(authz.UsersView), s.userExport) // the users the viewer may see
	web.get("/users/import", need(authz.UsersCreate), s.userImportForm)
	web.post("/users/import", need(authz.UsersCreate), s.userImportPreview) // checks only
	web.post("/users/import/commit", need(authz.UsersCreate), s.userImportCommit)
	web.get("/users/invite", need(authz.UsersCreate), s.inviteNew)
	web.post("/users/invite", need(authz.UsersCreate), s.inviteCreate)
	web.get("/invite/{token}", public(), s.inviteShow) // the one-time link is the credential
	web.post("/invite/{token}", public(), s.inviteAccept)
	web.get("/settings/mail", need(authz.SettingsTelephony), s.mailSettingsShow)
	web.post("/settings/mail", need(authz.SettingsTelephony), s.mailSettingsUpdate)
	web.post("/settings/mail/test", need(authz.SettingsTelephony), s.mailTest)

	api.get("/users.csv", need(authz.UsersView), s.userExport)
	api.post("/users/import", need(authz.UsersCreate), s.apiUserImport) // {"csv", "dry_run"}
	api.post("/users/invite", need(authz.UsersCreate), s.apiInvite)
	api.get("/settings/mail", need(authz.SettingsTelephony), s.apiMailSettings) // no password, password_set
	api.put("/settings/mail", need(authz.SettingsTelephony), s.apiMailSettingsUpdate)
	api.post("/settings/mail/test", need(authz.SettingsTelephony), s.apiMailTest)
}

// peopleAuditActions are the audit actions of these routes (auditActions).
var peopleAuditActions = []string{"users.export", "user.invite", "user.invite.accept", "mail.test"}
