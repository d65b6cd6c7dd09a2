package mockidp

// SetAfterCodeCheck makes the code stage call f between checking the code
// and logging the session in, so a test can race a second login into it.
func (s *Server) SetAfterCodeCheck(f func()) { s.afterCodeCheck = f }

// Pending counts the sessions and the pending DÁP logins the mock holds.
func (s *Server) Pending() (sessions, dap int) { return s.sessions.len(), s.dap.len() }
