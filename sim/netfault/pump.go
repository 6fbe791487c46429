package netfault

import (
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"syscall"
	"time"
)

// pump relays one direction of a connection: spliced while no toxic applies,
// through the toxic path once one does.
type pump struct {
	c        *conn
	dir      Direction
	src, dst *net.TCPConn
	fast     bool   // splicing now; guarded by link.mu
	st       *state // the state fast was decided under; guarded by link.mu
	rng      *rand.Rand
	limited  map[string]int64 // bytes passed since each limit_data toxic started applying
	nextSend time.Time        // bandwidth pacing
}

// burstWindow is how far behind its schedule a paced stream may fall and
// still catch up; beyond it the schedule restarts from now.
const burstWindow = 50 * time.Millisecond

// chunkSize is what the toxic path reads at once.
const chunkSize = 32 << 10

type chunk struct {
	data []byte
	at   time.Time // when it was read
	err  error     // set on the last chunk; io.EOF for a clean end
}

func newPump(c *conn, d Direction, src, dst *net.TCPConn) *pump {
	seed := c.link.cfg.Seed ^ (uint64(d)+1)*0x9e3779b97f4a7c15
	return &pump{
		c: c, dir: d, src: src, dst: dst,
		rng:     rand.New(rand.NewPCG(seed, splitmix64(c.seq))),
		limited: map[string]int64{},
	}
}

func (p *pump) run() {
	if p.runFast() {
		return
	}
	p.runSlow()
}

// runFast splices until the stream ends (true) or a toxic applies (false).
// A partition pauses it without reading.
func (p *pump) runFast() bool {
	l := p.c.link
	for {
		l.mu.Lock()
		_ = p.src.SetReadDeadline(time.Time{})
		st := l.st
		slow := len(p.c.active(st, p.dir)) > 0
		p.fast, p.st = !slow && !st.partitioned, st
		l.mu.Unlock()
		if slow {
			return false
		}
		if st.partitioned {
			select {
			case <-st.changed:
				continue
			case <-p.c.done:
				return true
			case <-l.ctx.Done():
				return true
			}
		}
		n, err := io.Copy(p.dst, p.src)
		p.count(n)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			continue // interrupted by a change of state
		}
		l.mu.Lock()
		p.fast = false
		l.mu.Unlock()
		p.end(err, 0)
		return true
	}
}

// runSlow reads chunks on one goroutine and applies the current toxics to
// each on this one, so latency is measured from when a chunk was read.
func (p *pump) runSlow() {
	l := p.c.link
	chunks := make(chan chunk, 16)
	quit, readerDone := make(chan struct{}), make(chan struct{})
	go p.read(chunks, quit, readerDone)
	defer func() {
		close(quit) // the reader is done, or blocked on a connection that is closed
		<-readerDone
	}()
	for {
		select {
		case ch := <-chunks:
			if ch.err != nil {
				p.end(ch.err, p.slowCloseDelay())
				return
			}
			if !p.deliver(ch) {
				return
			}
		case <-p.c.done:
			return
		case <-l.ctx.Done():
			return
		}
	}
}

func (p *pump) read(chunks chan<- chunk, quit <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	for {
		buf := make([]byte, chunkSize)
		n, err := p.src.Read(buf)
		if n > 0 {
			select {
			case chunks <- chunk{data: buf[:n], at: time.Now()}:
			case <-quit:
				return
			}
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			_ = p.src.SetReadDeadline(time.Time{}) // a stale interrupt
			continue
		}
		if err != nil {
			select {
			case chunks <- chunk{err: err}:
			case <-quit:
			}
			return
		}
	}
}

// deliver applies the toxics current now to one chunk; false ends the pump.
func (p *pump) deliver(ch chunk) bool {
	l := p.c.link
	st := l.state()
	for st.partitioned {
		if !p.wait(st.changed) {
			return false
		}
		st = l.state()
	}
	toxics := p.c.active(st, p.dir)
	var delay time.Duration
	var slicer, bandwidth *Toxic
	data, closeAfter := ch.data, false
	for i := range toxics {
		t := &toxics[i]
		switch t.Type {
		case Timeout:
			l.dropped.Add(int64(len(ch.data)))
			return true
		case Latency:
			delay += t.Latency
			if t.Jitter > 0 {
				delay += time.Duration(p.rng.Int64N(2*int64(t.Jitter)+1)) - t.Jitter
			}
		case LimitData:
			left := max(0, t.Bytes-p.limited[t.Name])
			if int64(len(data)) >= left {
				data, closeAfter = data[:left], true
			}
		case Slicer:
			slicer = t
		case Bandwidth:
			if bandwidth == nil || t.Rate < bandwidth.Rate {
				bandwidth = t
			}
		}
	}
	if delay > 0 && !p.sleep(time.Until(ch.at.Add(delay))) {
		return false
	}
	if !p.write(data, slicer, bandwidth) {
		return false
	}
	for _, t := range toxics {
		if t.Type == LimitData {
			p.limited[t.Name] += int64(len(data))
		}
	}
	if closeAfter {
		l.dropped.Add(int64(len(ch.data) - len(data)))
		p.c.closeBoth(false)
		return false
	}
	return true
}

// write sends data in slices (slicer) at a rate (bandwidth).
func (p *pump) write(data []byte, slicer, bandwidth *Toxic) bool {
	for len(data) > 0 {
		k := len(data)
		if slicer != nil {
			k = slicer.Size
			if v := slicer.SizeVariation; v > 0 {
				k += p.rng.IntN(2*v+1) - v
			}
		}
		if bandwidth != nil {
			k = min(k, max(1, int(bandwidth.Rate/50))) // about 50 writes a second
		}
		k = min(max(k, 1), len(data))
		n, err := p.dst.Write(data[:k])
		p.count(int64(n))
		if err != nil {
			p.c.closeBoth(isReset(err))
			return false
		}
		data = data[k:]
		if bandwidth != nil {
			// Keep to the schedule (catching up on late wake-ups) unless the
			// stream was idle, which earns no burst beyond burstWindow.
			if now := time.Now(); now.Sub(p.nextSend) > burstWindow {
				p.nextSend = now
			}
			p.nextSend = p.nextSend.Add(time.Duration(float64(k) * float64(time.Second) / float64(bandwidth.Rate)))
			if !p.sleep(time.Until(p.nextSend)) {
				return false
			}
		}
		if slicer != nil && slicer.Delay > 0 && len(data) > 0 && !p.sleep(slicer.Delay) {
			return false
		}
	}
	return true
}

func (p *pump) slowCloseDelay() time.Duration {
	var d time.Duration
	for _, t := range p.c.active(p.c.link.state(), p.dir) {
		if t.Type == SlowClose {
			d = max(d, t.Delay)
		}
	}
	return d
}

// end finishes the direction: a clean end half-closes the other side (after
// delay), an error closes the whole connection, passing a reset on.
func (p *pump) end(err error, delay time.Duration) {
	if err != nil && !errors.Is(err, io.EOF) {
		p.c.closeBoth(isReset(err))
		return
	}
	if delay > 0 && !p.sleep(delay) {
		return
	}
	_ = p.dst.CloseWrite()
}

func (p *pump) count(n int64) {
	if n <= 0 {
		return
	}
	if p.dir == Upstream {
		p.c.link.bytesUp.Add(n)
	} else {
		p.c.link.bytesDown.Add(n)
	}
}

// sleep waits d unless the connection or the link ends first.
func (p *pump) sleep(d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-p.c.done:
		return false
	case <-p.c.link.ctx.Done():
		return false
	}
}

// wait waits for ch to close unless the connection or the link ends first.
func (p *pump) wait(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	case <-p.c.done:
		return false
	case <-p.c.link.ctx.Done():
		return false
	}
}

func isReset(err error) bool { return errors.Is(err, syscall.ECONNRESET) }
