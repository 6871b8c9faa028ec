package sip

// ObserveLegs sets the function that receives every extension leg's
// state changes (nil stops them).
func (s *Server) ObserveLegs(f LegObserver) {
	if f == nil {
		s.legObs.f.Store(nil)
		return
	}
	s.legObs.f.Store(&f)
}

// watchLegs adds one of the server's own watchers of leg events. Only
// while the server is built: legEvent reads them without a lock.
func (s *Server) watchLegs(f LegObserver) {
	s.legObs.own = append(s.legObs.own, f)
}
