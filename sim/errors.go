package sim

import (
	"errors"
	"net/http"
)

var (
	errNotStarted   = errors.New("the proxy has not started")
	errServerClosed = http.ErrServerClosed
)
