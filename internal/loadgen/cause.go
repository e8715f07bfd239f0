package loadgen

import (
	"context"
	"errors"
	"io"
	"net"
	"syscall"
)

// Cause is why a request failed.
type Cause string

const (
	// CauseStatus: the answer's status was not 2xx.
	CauseStatus Cause = "status"
	// CauseReset: the connection was reset or closed before a whole answer.
	CauseReset Cause = "connection-reset"
	// CauseRefused: nothing accepted the connection.
	CauseRefused Cause = "connection-refused"
	// CauseTimeout: no whole answer within the request timeout.
	CauseTimeout Cause = "timeout"
	// CauseOther: anything else (DNS, TLS, a body that does not parse, ...).
	CauseOther Cause = "other"
)

// classify tells the cause of a transport error; ctx is the request's.
func classify(ctx context.Context, err error) Cause {
	var netErr net.Error
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded), errors.Is(err, context.DeadlineExceeded),
		errors.As(err, &netErr) && netErr.Timeout():
		return CauseTimeout
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return CauseReset
	case errors.Is(err, syscall.ECONNREFUSED):
		return CauseRefused
	}
	return CauseOther
}
