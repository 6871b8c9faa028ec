package web

import "net/http"

// The short reference of the JSON API that GET /api/v1 serves.

// apiIndex serves the short API reference.
func (s *Server) apiIndex(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write([]byte(apiReference))
}

const apiReference = `Switchboard JSON API v1

Authenticate every request with a personal API token:
  Authorization: Bearer sbt_…
Make one on your account page (/account) or with
  switchboard token create --email you@example.com
A token acts as its user: the same permissions (authz) as in the web UI.

Lists take ?page=N&per_page=M (default 50, at most 500) and answer
  {"data": [...], "page": N, "per_page": M, "total": T}
Objects outside your scope are 404, as if they did not exist.
Errors: {"error": {"code": "forbidden", "message": "…"}} with codes
  unauthorized 401, invalid 400 (with "fields"), forbidden 403, not_found 404,
  conflict 409, unavailable 503, internal 500. An invalid input's message
  names each field too: "host: is required; port: must be …".
Times are RFC 3339 in UTC ("2025-03-14T09:00:00Z"), whatever your time zone;
the web pages and the CSV export show your own. Plain dates in ?from= and
?to= are days in your time zone (your account's, else the company's
web.timezone, else UTC; GET /api/v1/me says which); an RFC 3339 time is
taken as written.

GET /api/v1/me                       you, your effective permissions (with why) and time zone
GET /api/v1/users                    ?search= ?group_id= ?state=active|blocked|deleted   (users.view)
GET /api/v1/users/{id}
GET /api/v1/groups                   the group tree                                      (groups.manage)
GET /api/v1/groups/{id}              with member_ids
GET /api/v1/roles                    roles and their permissions                          (roles.manage)
GET /api/v1/roles/{id}
GET /api/v1/contacts                 ?search= ?phone=+48…                                  (contacts.view)
GET /api/v1/contacts/{id}
GET /api/v1/calls                    ?from=2025-03-01 ?to=2025-03-31 ?user_id= ?group_id=
                                     ?number= ?disposition=answered|busy|no_answer|…      (calls.history)
                                     from/to dates are days in your time zone; a queue
                                     call has "queue", "queue_wait_seconds" and
                                     "queue_abandoned" (the callee answered it)
GET /api/v1/calls/{id}
GET /api/v1/recordings               ?call_id= ?from= ?to= ?user_id= ?group_id= ?number=
                                     ?direction=internal|outbound|inbound
                                     ?min_duration= ?max_duration= (seconds or m:ss)
                                     ?sort=newest|oldest|longest|shortest; with the call's
                                     from, to, names, direction and start;
                                     audio_url/download_url only when allowed (recordings.listen/download)
GET /api/v1/recordings/{id}
GET /api/v1/recordings/{id}/audio    the WAV, inline, with Range (seeking)                 (recordings.listen)
GET /api/v1/recordings/{id}/download the WAV as an attachment                              (recordings.download)
GET /api/v1/registrations            registered phones: extension, source, user agent     (users.view)
GET /api/v1/voicemail ?user=         voicemail messages, newest first: yours or a user's   (recordings.listen over the owner)
GET /api/v1/voicemail ?group=        a group's messages                                    (recordings.listen over the group's mailbox:
                                                                                            own: its members; department: also a parent's)
GET /api/v1/voicemail/{id}/audio     a message's WAV, inline, with Range                   (recordings.listen over the owner)
GET /api/v1/voicemail/mailbox        your mailbox: enabled, pin_set, greeting, to_email, max_seconds
GET /api/v1/users/{id}/voicemail     a user's mailbox                                      (users.manage)
GET /api/v1/groups/{id}/voicemail    a group's mailbox                                     (ivr.control over the group)

Changes take a JSON body (at most 64 KiB; unknown fields are refused) and are
decided exactly as in the web UI. A new object answers 201 with Location; a
deletion 204. Invalid input is 400 with "fields" naming each one; a clash
(extension or email taken, group not empty, role in use, last owner) is 409.

PUT    /api/v1/voicemail/mailbox     {"enabled"?,"pin"?,"to_email"?,"max_seconds"?}; pin: 4-12 digits, kept hashed
PUT    /api/v1/users/{id}/voicemail  the same for a user                                   (users.manage)
PUT    /api/v1/groups/{id}/voicemail the same for a group                                  (ivr.control over the group)
PUT    /api/v1/voicemail/mailbox/greeting {"wav": base64 of a WAV: PCM 8-32 bit or float, any rate, up to
                                      8 channels, at most 16 MiB; stored as 8 kHz 16-bit mono, at most 2 minutes}
PUT    /api/v1/groups/{id}/voicemail/greeting the same for a group                         (ivr.control over the group)
POST   /api/v1/voicemail/{id}/heard  204                                                  (recordings.listen over the owner)
DELETE /api/v1/voicemail/{id}        204; the file is removed                             (recordings.listen over the owner)
POST   /api/v1/users                 {"name","email","extension","ext_password"?,"password"?,"mobile"?,
                                      "caller_id"?,"hide_number"?,"notes"?,"language"?,"role_ids"?,
                                      "group_ids"?}; hide_number: calls out by a trunk show
                                     no number (Privacy: id; the carrier gets it in PAI)
                                     no ext_password: one is generated and answered once;
                                     no role_ids: the default role; each role must be
                                     within your own scopes                              (users.create)
PATCH  /api/v1/users/{id}            any of name, email, mobile, caller_id, hide_number, notes, language,
                                     time_zone ("Europe/Warsaw"; "" for the company's),
                                     dnd, forward_always, forward_busy, forward_no_answer,
                                     forward_offline (an extension or a number; "" for none),
                                     forward_ring_seconds (0: the PBX ring time, or 5-300),
                                     role_ids, group_ids (roles and groups: not your own;
                                     group_ids also needs groups.manage)                 (users.manage over them)
PUT    /api/v1/users/{id}/overrides  {"calls.history":"any", ...}; {} resets to the roles  (users.manage, within yours)
POST   /api/v1/users/{id}/ext-password  a new extension password, answered once          (users.manage over them)
POST   /api/v1/users/{id}/block      also ends their sessions                             (users.create)
POST   /api/v1/users/{id}/unblock                                                         (users.create)
DELETE /api/v1/users/{id}                                                                 (users.create)
POST   /api/v1/users/import          {"csv","dry_run"?,"name"?}: the rules of "switchboard user import",
                                     all rows or none; problems: 400 with
                                     "lines":[{"line","field","message"}]; each row's roles
                                     within your own scopes                              (users.create)
POST   /api/v1/users/invite          {"name","email","extension","mobile"?,"role_ids"?,
                                      "group_ids"?,"language"?,"mail_language"?}: the account,
                                     and a one-time link by e-mail (settings users.invite_ttl);
                                     the mail refused: 502 "mail_failed", no account kept (users.create)
POST   /api/v1/groups                {"name","parent_id"?,"extension"?,"prefix"?}          (groups.manage)
PATCH  /api/v1/groups/{id}           any of those
DELETE /api/v1/groups/{id}           only when empty; never the default group
POST   /api/v1/groups/{id}/members/{user_id}   add                                        (groups.manage and
DELETE /api/v1/groups/{id}/members/{user_id}   remove                                      users.manage over them)
POST   /api/v1/roles                 {"name","permissions":{"users.view":"department",...}} (roles.manage, each
PATCH  /api/v1/roles/{id}            any of name, permissions (the whole set),              scope within yours)
                                     "keep_members": true keeps members as they are now
DELETE /api/v1/roles/{id}            only when no one holds it
POST   /api/v1/contacts              {"name","company"?,"phones"?:[...],"email"?,"assigned_to"?,
                                      "public"?,"notes"?}; phones normalized to E.164 with
                                     numbers.default_country; assigned_to defaults to you  (contacts.manage)
PATCH  /api/v1/contacts/{id}         any of those                                          (contacts.manage over it)
DELETE /api/v1/contacts/{id}                                                               (contacts.delete over it)
DELETE /api/v1/recordings/{id}       removes the audio, keeps the row as deleted           (recordings.delete)

Trunks and inbound numbers, as on /settings and /numbers. A trunk's
password is write-only: it is never answered, only "password_set"; a PUT
without one keeps the stored password.

GET    /api/v1/trunks                trunks, with "registration" when the PBX knows it    (settings.telephony)
GET    /api/v1/trunks/{name}         one trunk (name URL-escaped)
POST   /api/v1/trunks                {"name","host","port"?,"transport"?:"UDP"|"TCP",
                                      "username"?,"password"?,"register"?,"caller_id"?,
                                      "prefixes"?:["+48","+8424"],
                                      "from_user"?:"user"|"company"|"trunk",
                                      "pai"?:"none"|"user"|"company"|"trunk",
                                      "privacy"?:"hidden"|"always",
                                      "diversion"?:"none"|"diversion"|"history-info"}
                                     caller identity on the trunk: From user and
                                     P-Asserted-Identity are the user's caller ID (else
                                     caller_id), caller_id (the company number) or the
                                     username; privacy "always" adds Privacy: none to calls
                                     that show a number; diversion marks calls a forward
                                     sends out (RFC 5806 or RFC 7044)
                                     numbers starting with a prefix try that trunk first;
                                     no prefixes: any number. A taken name is 409
PUT    /api/v1/trunks/{name}         the whole trunk, as for POST; "name" renames it;
                                     without "prefixes" the stored ones stay ([] clears)
DELETE /api/v1/trunks/{name}
GET    /api/v1/dids                  inbound numbers: [{"number","extension"}]            (numbers.manage)
GET    /api/v1/dids/{number}         one number (+ as is, e.g. /api/v1/dids/+48221234567)
POST   /api/v1/dids                  {"number","extension"}; spaces in the number are
                                     dropped; a number already mapped is 409
PUT    /api/v1/dids/{number}         {"extension"}: where the number rings now
DELETE /api/v1/dids/{number}

SIP bans of the guard, as on /security, from the store (every node's).

GET    /api/v1/bans                  bans in force: [{"ip","kind":"source"|"extension",    (settings.telephony)
                                      "extension"?,"reason","created","expires","node"?}]
DELETE /api/v1/bans/{ip}             lifts every ban and extension lock of the address on
                                     every node; 404 when it has none

Outgoing mail (invitations), as on /settings/mail. The password is
write-only: GET answers "password_set"; a PUT without one keeps it.

GET    /api/v1/settings/mail         {"host","port","security":"none"|"starttls"|"tls",     (settings.telephony)
                                      "user","from","password_set"}
PUT    /api/v1/settings/mail         the same, with "password"?
POST   /api/v1/settings/mail/test    {"to"}: sends a test mail now; 400 when no server is
                                     set, 502 with the server's answer when it refuses

Phones that configure themselves, as on /devices: a device belongs to a user
you manage (users.manage over them). Its provisioning URL holds a secret,
answered once, when it is made; phones fetch
  /provision/<secret>/<file> (no token; the file: <mac>.cfg for Yealink,
  cfg<mac>.xml for Grandstream, <mac>.cfg, <mac>-phone.cfg and
  <mac>-directory.xml for Poly, <mac>.xml for Snom, linphone.xml;
  phonebook.xml for every one).

GET    /api/v1/devices               [{"id","mac","vendor","model","label","user_id",      (users.manage)
                                       "last_fetch_at","last_fetch_ip","created_at"}]
GET    /api/v1/devices/{id}
POST   /api/v1/devices               {"user" (extension or email),"vendor":"yealink"|"grandstream"|
                                      "polycom"|"snom"|"linphone","mac"?,"model"?,"label"?,
                                      "ext_password"?}; the extension's password, checked;
                                     none: a new one is set and answered once. Answers
                                     provisioning_url, config_url, phonebook_url once
PATCH  /api/v1/devices/{id}          any of mac, vendor, model, label
DELETE /api/v1/devices/{id}

Office hours (ivr.control: department for the schedules of one's groups,
any for company-wide ones and for inbound numbers). hours: weekly intervals
as people type them ("Mon-Fri 08:00-17:00; Sat 09:00-13:00"), on the wall
clock of time_zone (an IANA name); holidays: dates closed all day
("2026-12-24, 01-01" for every year).

GET    /api/v1/schedules             [{"id","name","group_id"?,"time_zone","hours","holidays",
                                       "closed","open_now","created_at"}]
GET    /api/v1/schedules/{id}
POST   /api/v1/schedules             {"name","group_id"?,"time_zone","hours","holidays"?,"closed"?}
PUT    /api/v1/schedules/{id}        the same fields, whole
DELETE /api/v1/schedules/{id}
GET    /api/v1/did-hours             [{"number","schedule_id","schedule","outside"}]
PUT    /api/v1/did-hours/{number}    {"schedule_id","outside" (extension rung outside hours)}
DELETE /api/v1/did-hours/{number}    the number rings its usual target at all hours

Call queues (queues.view: the live board; queues.manage: the queues, their
agents and agents' state; department: the queues of one's groups, any: every
queue). A queue's number is in the dial plan like an extension and never
the same as one. strategy: ring_all, longest_idle, round_robin, fewest_calls.
Agents log themselves in by phone: *60 in, *61 out, *62[reason] pause, *63 on.

GET    /api/v1/queues                [{"id","number","name","group_id"?,"strategy",           (queues.view|manage)
                                       "ring_seconds","max_wait_seconds","max_callers",
                                       "wrap_up_seconds","overflow","music",
                                       "service_level_seconds","members":[user ids],"created_at"}]
GET    /api/v1/queues/{id}
POST   /api/v1/queues                the same fields but id and created_at                  (queues.manage)
PUT    /api/v1/queues/{id}           the same fields, whole (members kept when absent)
DELETE /api/v1/queues/{id}
PUT    /api/v1/queues/{id}/members   {"members":[user ids]}, in round-robin order
POST   /api/v1/queues/{id}/agents/{user_id}/login     the user must be an agent of the
POST   /api/v1/queues/{id}/agents/{user_id}/logout    queue; 204
POST   /api/v1/queues/{id}/agents/{user_id}/pause     {"reason"?}
POST   /api/v1/queues/{id}/agents/{user_id}/unpause
GET    /api/v1/queues/{id}/board     {"queue","waiting":[{"from","position",                  (queues.view)
                                      "waiting_seconds"}],"agents":[{"user_id","state",
                                      "reason"?,"answered"}],"stats":{"entered","answered",
                                      "answered_within_service_level","abandoned","overflowed",
                                      "missed","waiting","longest_wait_seconds",
                                      "average_wait_seconds","service_level"}}

Auto attendant menus (ivr.control any). A menu's number is dialed like an
extension, or mapped from an inbound number; each option is a key (0-9, *,
#) and an action: extension, group, queue, menu, voicemail (with a target
number), dial_by_extension or hangup (none).

GET    /api/v1/ivr-menus             [{"id","number","name","greeting","digit_timeout","max_tries",
                                       "options":[{"digit","action","target"?}],"timeout_action",
                                       "timeout_target"?,"invalid_action","invalid_target"?,"created_at"}]
GET    /api/v1/ivr-menus/{id}
POST   /api/v1/ivr-menus             {"number","name","digit_timeout"?,"max_tries"?,"options"?,
                                       "timeout_action"?,"timeout_target"?,"invalid_action"?,
                                       "invalid_target"?}; actions default to hangup
PUT    /api/v1/ivr-menus/{id}        the same fields, whole
DELETE /api/v1/ivr-menus/{id}
PUT    /api/v1/ivr-menus/{id}/greeting  {"wav": base64 of the file}; any PCM or float WAV, 8-192 kHz, 1-8 channels, at most
                                       16 MiB; stored as 8 kHz 16-bit mono

Every change, listen and download is written to the audit log, with the token
that made it.
`
