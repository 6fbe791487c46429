// Package loadgen is proxylab's load generator: pacers, an open-loop and a
// closed-loop engine, HdrHistogram metrics and reports. It runs on its own
// against any URL (HTTPDoer, used by `proxylab load`) or as a library that
// drives someone else's Doer (the scenario runner's simulated clients).
//
//	Plan{Phases} ──▶ Run ──┬─ open loop:   Pacer ─▶ scheduler ─▶ intended send times ─▶ worker pool (≤ MaxInFlight)
//	                       └─ closed loop: Connections workers, back to back (+ Think)
//	                                   │
//	                                   ▼ Doer.Do(ctx, Slot) ─▶ Result
//	                                   │
//	                     per-shard recorder (no channel, no global lock per request)
//	                      ├─ HDR corrected (from Slot.Intended) and raw (from Result.Start)
//	                      │  per phase × client × server × status class
//	                      └─ interval cells ─▶ collector each second ─▶ Series, Progress, HDR log
//	                                   │
//	                                   ▼
//	                    Report ─▶ JSON (stable schema) · WriteText · interval log
//
// # Timing and coordinated omission
//
// Every open-loop request has an intended send time computed from its
// phase's Pacer alone, never from when the engine got round to it. Latency is
// recorded twice: corrected, from the intended time to completion, and raw,
// from the actual start (Result.Start) to completion. When a server stalls,
// the requests queued behind the stall show it in corrected latency; raw
// latency hides it, which is why both are reported.
//
// # Late and unsent slots
//
// At most Phase.MaxInFlight requests of an open-loop phase run at once. A slot
// whose intended time comes while all of them are busy is not dropped: it is
// sent as soon as a worker frees up, counted as late, and its corrected
// latency includes the wait. Slots still unsent when the run ends (its last
// phase is over or ctx is done) are counted as unsent in their phase. No slot
// is ever skipped silently: planned = sent + unsent.
//
// Go timers wake up to about a millisecond late on Linux, so an open-loop
// slot is typically sent up to ~1ms after its intended time and corrected
// latency includes that lag: against a sub-millisecond target, read raw
// latency beside it, or use WithSpin to busy-wait the last stretch.
//
// Closed-loop phases have no schedule, so their corrected latency equals raw
// latency: a closed loop cannot see coordinated omission, use an open-loop
// phase to measure stalls honestly.
package loadgen
