// Package scenarios is proxylab's declarative scenario format and the engine
// that plays it: one YAML file holds a topology, load phases, a timeline of
// failures and topology changes, and the expectations that make the verdict.
//
//	scenario.yaml ──Load──▶ Scenario (typed; every problem reported as file:line:col)
//	      │
//	      ▼ Run(ctx, sc, opts)
//	  sim.World ── servers, links, proxy (built in or external), clients cli1..N
//	      ├─ loadgen drives the clients phase by phase
//	      ├─ the timeline applies events at their offsets on the same clock
//	      └─ the ledger joins client outcomes and server receipts by request id
//	      │
//	      ▼ Evaluate(expect) ──▶ Result ──▶ text · JSON · JUnit XML · HTML report
//
// Expectations are expr-lang expressions over the run's figures, such as
// `ledger.lost == 0`, `latency.p99 < 50ms` or
// `server("server2").requests_between(2.5s, 5s) == 0`; duration literals
// like 50ms are written bare. See docs/scenarios.md for the whole format.
package scenarios
