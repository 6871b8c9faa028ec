package sip

import "github.com/switchboard-pbx/switchboard/directory"

// mailVoicemail sends a copy of a message to its owner by e-mail.
func (s *Server) mailVoicemail(v directory.Voicemail) {
	s.log.Info("voicemail e-mail copy not sent: not implemented", "voicemail_id", v.ID)
}
