package balance

import "time"

// SetUpSince lets tests place an upstream anywhere in its slow-start window.
func SetUpSince(u *Upstream, t time.Time) { u.upSince.Store(t.UnixNano()) }
