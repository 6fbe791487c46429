package proxy

import (
	"net/http"
	"time"
)

// drainBound bounds what net/http does after a handler returns without
// reading the whole request body: it reads up to 256 KiB more to keep the
// connection, before it writes the response, and with no deadline of its own
// when ReadTimeout is zero. A client that trickles the body of a request the
// proxy refused (404, 403, 407, 413…) would hold the connection as long as
// it likes. Once the handler is done, the rest of the body gets the header
// deadline; past it net/http closes the connection after the response.
type drainBound struct {
	h http.Handler
	d time.Duration
}

func (b drainBound) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.h.ServeHTTP(w, r)
	if r.ContentLength != 0 && r.ProtoMajor == 1 {
		// A hijacked connection refuses this; net/http resets the deadline
		// before the next request.
		_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(b.d))
	}
}

var _ http.Handler = drainBound{}
