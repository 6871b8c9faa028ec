// Package directory is Switchboard's system of record: users and their
// extensions, groups, roles and per-user permission overrides, CRM contacts,
// call history (CDR), recording metadata, SIP registrations, settings and the
// audit log. It holds the domain types, their validation (field-level errors)
// and the Store interface; the SQL lives in the backends directory/sqlite and
// directory/postgres, and directory/storetest is the suite both must pass.
//
// Scope values (in roles and overrides) are plain strings here; only package
// authz gives them meaning and fills in the Visibility filters that a store
// turns into a SQL WHERE clause.
package directory
