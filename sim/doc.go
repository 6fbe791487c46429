// Package sim is the simulated world in which proxylab's two drawings run for
// real on loopback: named clients, one proxy (built in or an external program),
// named servers, and fault-injecting links between them.
//
//	cli1 ─┐                     ┌──▶ server1
//	cli2 ─┼──▶ [link] proxy ────┼──▶ [link] server2      every node: its own 127.x.y.z, port 0
//	cli3 ─┘                     └──▶ server3
//
//	client outcome ──┐
//	                 ├──▶ Ledger (joined by X-Proxylab-Id)
//	server receipt ──┘
//
// A World is built in code (AddServer, AddClient, AddLink, SetProxy), started,
// changed while traffic flows (Crash, Recover, AddServer, RemoveServer, Drain,
// Partition, Heal) and stopped. The Ledger joins every client outcome with the
// receipts of the servers by request id and answers how many requests were
// lost, served twice, or answered by the wrong server.
package sim
