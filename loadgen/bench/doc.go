// Package bench measures proxies side by side in one run, with one method:
// a direct baseline, the built-in reverse and forward proxies, well-known
// peers (nginx, HAProxy, Caddy, Squid, tinyproxy) and any URL already
// running, under the same load generator, connections and body size.
//
//	Run(ctx, Config)
//	  │
//	  ├─ backend: sim server (no knobs) or nginx `return 200`      core 0
//	  ├─ targets: direct · reverse · forward (child processes      core 1
//	  │           `proxylab proxy …`, GOMAXPROCS=1) · peers (rendered
//	  │           config, started, stopped after) · --target URLs
//	  │
//	  ├─ warm-up per target (discarded)
//	  ├─ closed loop, repetitions interleaved A B C A B C …  ─▶ req/s, p50/p99,
//	  │      /proc/PID/stat Δ(utime+stime) of the proxy tree ─▶ CPU µs per request
//	  ├─ open loop at a fixed rate, interleaved              ─▶ added p50/p99 vs direct
//	  ├─ CONNECT bulk through each forward proxy vs direct   ─▶ MB/s
//	  └─ N idle keep-alive client connections                ─▶ RSS per connection
//	  │
//	  ▼
//	Result (medians with min–max) ─▶ WriteText · JSON · WriteHTML (SVG bars)
//
// # Fairness
//
// When the machine has two cores or more (and Config.NoPin is false), the
// proxy under test runs alone on core 1 (taskset -c 1) and the load generator
// and backend, both in this process, on core 0, the same for every target.
// Each proxy gets one worker: GOMAXPROCS=1 for Go, worker_processes 1 for
// nginx, nbthread 1 for HAProxy. The built-in proxies run as child processes
// so that their CPU time can be read from /proc like any peer's; an
// in-process proxy would share this process's counters with the load.
//
// The main figure on a shared machine is the proxy's CPU time per request:
// it stays meaningful when the bottleneck is the load generator's core, not
// the proxy. req/s and latency are reported with it, as medians over the
// repetitions with their spread (min–max).
package bench
