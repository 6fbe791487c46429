package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/proxylab/proxylab/sim/server"
)

// serveFlags are the behaviour knobs of `proxylab serve`, as strings so that
// each goes through the same parser as the query string.
type serveFlags struct {
	listen, name               string
	latency, status, size      string
	headers                    []string
	chunks                     int
	chunkEvery                 time.Duration
	drip, stall, reset, closeP string
	seed                       uint64
	stopTimeout                time.Duration
}

func newServeCommand() *cobra.Command {
	var f serveFlags
	c := &cobra.Command{
		Use:   "serve --listen ADDR [behaviour flags]",
		Short: "Run a simulated server on its own",
		Long: `serve runs one simulated server, the same as the serverN nodes of a scenario,
until SIGINT or SIGTERM, then stops gracefully.

Every flag sets a default that each request may override with a query
parameter of the same name (?latency=5ms:80,250ms:2&status=503:1&size=1KiB)
or with the X-Sim-* header (X-Sim-Latency, X-Sim-Status, X-Sim-Chunk-Every, …),
so proxies that rewrite paths still pass the knobs on.

Paths:
  /echo     the request as the server saw it, as JSON (headers in the order received)
  /healthz  200, or 503 when unhealthy; ignores the knobs
  /ws       WebSocket echo
  /sse      server-sent events (?events=N&every=D; default 10 every 100ms)
  anything else answers with the knobs applied

Latency forms: 5ms · 1ms-5ms (uniform) · normal(10ms,2ms) · lognormal(10ms,2ms)
(mean and standard deviation of the delay) · a weighted mix 5ms:80,250ms:2 (in
percent; the rest, 18% here, gets no delay).

HTTP/1.1 and h2c (HTTP/2 without TLS) share the listener.`,
		Example: `  # 1% of responses are 503s, 2% take 250ms, bodies of 1 KiB
  proxylab serve --listen 127.0.1.1:8080 --name server1 \
      --latency 5ms:80,250ms:2 --status 200:99,503:1 --size 1KiB

  # a slow, flaky backend: drip 2 KiB/s, reset 5% of responses mid-body
  proxylab serve --listen 127.0.1.2:8080 --drip 2KiB --size 16KiB --reset 5%

  # per request, without restarting
  curl 'http://127.0.1.1:8080/anything?status=418&latency=normal(20ms,5ms)'
  curl -H 'X-Sim-Stall: 1' http://127.0.1.1:8080/   # never answers
  curl --http2-prior-knowledge http://127.0.1.1:8080/echo`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, err := f.behaviour(cmd)
			if err != nil {
				return err
			}
			srv, err := server.New(server.Config{Name: f.name, Addr: f.listen, Behaviour: b, Seed: f.seed})
			if err != nil {
				return usageErrorf("%v", err)
			}
			if err := srv.Start(); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s serving on %s\n", srv.Name(), srv.URL())
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			<-ctx.Done()
			stopCtx, cancel := context.WithTimeout(context.Background(), f.stopTimeout)
			defer cancel()
			if err := srv.Stop(stopCtx); err != nil {
				return fmt.Errorf("stop: %w", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s stopped after %d requests\n", srv.Name(), srv.Stats().Received)
			return nil
		},
	}
	fl := c.Flags()
	fl.StringVar(&f.listen, "listen", "127.0.0.1:8080", "address to listen on (HOST:PORT; port 0 picks one)")
	fl.StringVar(&f.name, "name", server.DefaultName, "name sent in X-Sim-Server")
	fl.StringVar(&f.latency, "latency", "", "latency distribution: 5ms, 1ms-5ms, normal(10ms,2ms), lognormal(10ms,2ms) or 5ms:80,250ms:2")
	fl.StringVar(&f.status, "status", "", "status mix, e.g. 200:99,503:1 (rest is 200)")
	fl.StringVar(&f.size, "size", "", "body size mix, e.g. 1KiB:90,16KiB:10 or 2048 (rest is empty)")
	fl.StringArrayVar(&f.headers, "header", nil, "extra response header NAME:VALUE (repeatable)")
	fl.IntVar(&f.chunks, "chunks", 0, "stream the body in N chunks (chunked encoding)")
	fl.DurationVar(&f.chunkEvery, "chunk-every", 0, "pause between chunks")
	fl.StringVar(&f.drip, "drip", "", "send the body at this many bytes per second, e.g. 1024 or 2KiB")
	fl.StringVar(&f.stall, "stall", "", "probability of never answering, e.g. 0.01 or 1%")
	fl.StringVar(&f.reset, "reset", "", "probability of resetting the connection mid-body")
	fl.StringVar(&f.closeP, "close", "", "probability of closing the connection after the response")
	fl.Uint64Var(&f.seed, "seed", 1, "seed of every random decision")
	fl.DurationVar(&f.stopTimeout, "stop-timeout", 10*time.Second, "how long a graceful stop may take before connections are cut")
	return c
}

// behaviour reads the knob flags through the server's parsers; a bad value is
// a usage error carrying the parser's message.
func (f serveFlags) behaviour(cmd *cobra.Command) (server.Behaviour, error) {
	var b server.Behaviour
	set := func(flag, knob, value string) error {
		if !cmd.Flags().Changed(flag) {
			return nil
		}
		if err := b.SetKnob(knob, value); err != nil {
			return usageErrorf("--%s: %v", flag, err)
		}
		return nil
	}
	for _, k := range []struct{ flag, knob, value string }{
		{"latency", server.KnobLatency, f.latency},
		{"status", server.KnobStatus, f.status},
		{"size", server.KnobSize, f.size},
		{"drip", server.KnobDrip, f.drip},
		{"stall", server.KnobStall, f.stall},
		{"reset", server.KnobReset, f.reset},
		{"close", server.KnobClose, f.closeP},
	} {
		if err := set(k.flag, k.knob, k.value); err != nil {
			return b, err
		}
	}
	for _, h := range f.headers {
		if err := b.SetKnob(server.KnobHeader, h); err != nil {
			return b, usageErrorf("--header: %v", err)
		}
	}
	if f.chunks < 0 {
		return b, usageErrorf("--chunks %d is negative; want 0 or more", f.chunks)
	}
	if f.chunkEvery < 0 {
		return b, usageErrorf("--chunk-every %s is negative; want a duration like 100ms", f.chunkEvery)
	}
	b.Chunks, b.ChunkEvery = f.chunks, f.chunkEvery
	return b, nil
}
