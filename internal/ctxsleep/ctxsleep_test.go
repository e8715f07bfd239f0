package ctxsleep

import (
	"context"
	"testing"
	"time"
)

func TestFor(t *testing.T) {
	if !For(context.Background(), time.Millisecond) || !For(context.Background(), 0) {
		t.Error("a live context must sleep through")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	began := time.Now()
	if For(ctx, time.Hour) || For(ctx, 0) {
		t.Error("an ended context must end the sleep with false")
	}
	if time.Since(began) > time.Second {
		t.Error("an ended context must not wait")
	}
}
