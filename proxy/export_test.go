package proxy

// PoolBalance returns how many pooled buffers the own loop's connections
// hold now (gets minus puts).
func PoolBalance() int64 { return poolGets.Load() - poolPuts.Load() }
