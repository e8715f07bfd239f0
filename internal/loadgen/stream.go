package loadgen

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/cafe-dev/cafe/internal/demo"
)

// request is one request of the stream, decided before it is sent.
type request struct {
	op       Op
	user     int
	transfer *demo.Transfer
}

// plan decides the stream's requests from one random source, so a seed
// reproduces a run's sequence.
type plan struct {
	cfg Config
	rng *rand.Rand
	seq int
}

func (p *plan) next() request {
	p.seq++
	user := p.rng.IntN(p.cfg.Accounts)
	if p.rng.Float64() >= p.cfg.TransferRatio {
		return request{op: OpRead, user: user}
	}
	to := p.rng.IntN(p.cfg.Accounts - 1)
	if to >= user {
		to++
	}
	return request{op: OpTransfer, user: user, transfer: &demo.Transfer{
		ID:     transferID(p.cfg.RunID, p.seq, UserID(user, p.cfg.Shards)),
		From:   UserID(user, p.cfg.Shards),
		To:     UserID(to, p.cfg.Shards),
		Amount: 1 + p.rng.Int64N(p.cfg.MaxAmount),
	}}
}

// do sends r once and says what came of it. ctx bounds the request.
func (c *client) do(ctx context.Context, r request, shards int) outcome {
	uid := UserID(r.user, shards)
	o := outcome{op: r.op, user: uid, target: c.target(r.user), sentAt: time.Now(), transfer: r.transfer}
	var a answer
	var err error
	if r.op == OpTransfer {
		t := r.transfer
		body := map[string]any{"id": t.ID, "from": t.From, "to": t.To, "amount": t.Amount}
		// The Idempotency-Key header makes the POST replayable for the
		// routers, which may then fail it over to another unit.
		a, err = c.send(ctx, http.MethodPost, o.target+"/transfers", uid, body, map[string]string{demo.HeaderIdempotencyKey: t.ID})
	} else {
		a, err = c.send(ctx, http.MethodGet, o.target+"/accounts/"+uid, uid, nil, nil)
	}
	o.latency = time.Since(o.sentAt)
	o.status, o.unit, o.version = a.status, a.unit, a.version
	switch {
	case err != nil:
		o.cause, o.detail = classify(ctx, err), err.Error()
	case a.status/100 != 2:
		o.cause, o.detail = CauseStatus, excerpt(a.body)
	case r.op == OpTransfer:
		o.cause, o.detail = checkTransferAnswer(*r.transfer, a.body)
	}
	return o
}

// checkTransferAnswer makes sure a 2xx answer is the transfer asked for:
// an acknowledgement of something else is a failure too.
func checkTransferAnswer(sent demo.Transfer, body []byte) (Cause, string) {
	var got demo.Transfer
	if err := json.Unmarshal(body, &got); err != nil {
		return CauseOther, "2xx answer is not a transfer: " + excerpt(body)
	}
	if !got.SameRequest(sent) {
		return CauseOther, "2xx answer is another transfer: " + excerpt(body)
	}
	return "", ""
}

// transferID ends with the sender's user ID, so a router that reads the
// shard from the last digits of a key can route GET /transfers/{id} like
// the transfer itself.
func transferID(runID string, seq int, fromUser string) string {
	return fmt.Sprintf("%s-%d-%s", runID, seq, fromUser)
}
