// Package intercom places intercom calls, a feature over the call core
// (sip/call): an extension's *90 call to a colleague rings the
// colleague's phones with headers that make them answer by themselves,
// when authz lets the caller; paging (sip/paging) uses the same check and
// headers for each member it pages.
package intercom
