package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"syscall"
	"testing"
)

func TestClassify(t *testing.T) {
	_, refused := http.Get(closedPortURL(t))
	expired, cancel := context.WithTimeout(context.Background(), 0)
	defer cancel()
	tests := []struct {
		name string
		ctx  context.Context
		err  error
		want Cause
	}{
		{"refused by a closed port", context.Background(), refused, CauseRefused},
		{"reset", context.Background(), fmt.Errorf("read: %w", syscall.ECONNRESET), CauseReset},
		{"closed before the answer", context.Background(), fmt.Errorf("Post: %w", io.EOF), CauseReset},
		{"our deadline passed", expired, errors.New("context deadline exceeded (Client.Timeout...)"), CauseTimeout},
		{"deadline in the error", context.Background(), fmt.Errorf("x: %w", context.DeadlineExceeded), CauseTimeout},
		{"anything else", context.Background(), errors.New("tls: bad certificate"), CauseOther},
	}
	for _, tt := range tests {
		if got := classify(tt.ctx, tt.err); got != tt.want {
			t.Errorf("%s: classify(%v) = %s, want %s", tt.name, tt.err, got, tt.want)
		}
	}
}
