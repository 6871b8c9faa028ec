// Package monitor joins a supervisor to a call in progress, a feature
// over the call core (sip/call): the feature codes *31 (listen), *32
// (whisper) and *33 (barge in) followed by an extension put a
// media.Monitor on the relay of the call that extension is in, when authz
// lets the supervisor; the supervisor's dialog with the PBX is kept here
// while it runs.
package monitor
