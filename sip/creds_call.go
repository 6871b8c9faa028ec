package sip

// ByID returns the credential of a user by ID.
func (cs *credentials) ByID(id int64) (*credential, bool) {
	cs.mu.RLock()
	c, ok := cs.byID[id]
	cs.mu.RUnlock()
	return c, ok
}
