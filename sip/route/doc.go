// Package route is the dial plan: it turns the number a call dials into a
// Route (who calls whom, and the Targets to ring: a user's phones, a
// group's members, the trunks to a number outside) or a Refusal, under
// authz's outbound rule, the DIDs' office hours and each trunk's caller
// Identity. It knows no call in progress, no dialog and no feature: the
// numbers that features answer (a menu's, a queue's) and a user's
// forwarding reach it as functions (Router.User, Menu, Queue), and the
// services that answer a call themselves ride on the route as an opaque
// Answerer.
package route
