package proxy

// PoolBalance returns how many pooled buffers the connections s serves with
// its own loop hold now.
func PoolBalance(s *Server) int64 { return s.eng.held.Load() }
