// Package netfault is proxylab's fault-injecting TCP link: a relay between a
// listen address and an upstream address that applies toxics to the bytes
// flowing each way, like Toxiproxy, with every random decision drawn from a
// seed.
//
//	client ──▶ Listen ─┬─ Upstream direction (client→server): toxics ──▶ Upstream address
//	                   └─ Downstream direction (server→client): toxics ◀──
//
// Each connection is two pumps, one per direction. A pump with no toxic (and
// no partition) is a plain io.Copy between two *net.TCPConn, so the kernel
// splices the bytes. Adding a toxic or partitioning the link interrupts the
// copy (a read deadline in the past); the pump then moves to the toxic path,
// where a reader goroutine timestamps chunks and a writer applies the toxics
// current at each chunk. Existing connections therefore pick up toxics added
// and removed while traffic flows. A pump that has moved to the toxic path
// stays there for the rest of its connection, passing chunks unchanged once
// no toxic applies.
//
// Whether a toxic applies to a connection (its Probability, Toxiproxy's
// "toxicity") is decided once per connection and toxic from the link's seed,
// the connection's number and the toxic's name, so the same seed and the
// same sequence of connections give the same decisions whatever the timing.
// Jitter and slice sizes come from per-connection generators derived the
// same way. The global math/rand generator is never used.
//
// Bytes are never dropped except where a toxic says so (timeout while it
// holds, limit_data after its limit, reset_peer).
package netfault
