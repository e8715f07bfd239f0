package proxy

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/cafe-dev/cafe/internal/router/shard"
)

// HeaderFailoverFrom names the unit whose endpoints failed a request that
// its router then sent to the unit's failoverTo. The target serves it even
// while its own shard map still says the failing unit owns the shard: the
// control plane moves shards a second or more after endpoints die, and
// replayable requests should not fail in between.
const HeaderFailoverFrom = "X-Cafe-Failover-From"

// hopFirst and hopFinal are HeaderHop's values: a first hop may be relayed
// once more by a router whose map is newer than the sender's; a final hop is
// never forwarded again.
const (
	hopFirst = "1"
	hopFinal = "2"
)

// HeaderIdempotencyKey marks a request the client is prepared to have
// applied at most once however often it is sent, whatever its method.
const HeaderIdempotencyKey = "Idempotency-Key"

// hopVerdict is what a router does with a request whose shard it looked up.
type hopVerdict int

const (
	// serveHere sends the request to this unit's endpoints.
	serveHere hopVerdict = iota
	// forwardToOwner sends the request, once, to the owning unit's router.
	forwardToOwner
	// relayToOwner sends a request that hopped on a stale map on to the
	// unit this router's newer map names, as its final hop.
	relayToOwner
	// loopDetected answers 508: the request already hopped and this
	// router's map, at least as new as the sender's, names another unit.
	loopDetected
)

// hopInput is everything decideHop needs, so the decision is a pure
// function of it.
type hopInput struct {
	// local is this router's unit; owner the unit serving the shard in the
	// local table, at localEpoch.
	local, owner string
	localEpoch   int64
	// hopped is set when another router forwarded the request; its map was
	// at remoteEpoch (-1 when missing or malformed).
	hopped      bool
	remoteEpoch int64
	// finalHop is set for a request that must not be forwarded again: it
	// was relayed or failed over already.
	finalHop bool
	// failoverFrom is the request's HeaderFailoverFrom, and
	// failoverFromTarget that unit's failoverTo in the local table.
	failoverFrom, failoverFromTarget string
}

// decideHop serves what is ours, forwards what is another unit's once, and
// for a request that already hopped serves it when the sender had a reason
// this router's map cannot contradict: the request fails over from a unit
// whose failoverTo is this unit, or the sender's map is newer (it knows a
// move this router has not seen yet). When this router's map is the newer
// one, the sender acted on a stale map, and the request goes on once more to
// the unit this map names, which accepts it for its newer epoch. Only maps
// at the same epoch that disagree, or a final hop that would go on, prove a
// loop.
func decideHop(in hopInput) hopVerdict {
	switch {
	case in.owner == in.local:
		return serveHere
	case !in.hopped:
		return forwardToOwner
	case in.failoverFrom != "" && in.failoverFrom == in.owner && in.failoverFromTarget == in.local:
		return serveHere
	case in.remoteEpoch > in.localEpoch:
		return serveHere
	case in.remoteEpoch >= 0 && in.remoteEpoch < in.localEpoch && !in.finalHop:
		return relayToOwner
	}
	return loopDetected
}

// replayable reports whether a request may be sent to another unit after
// this unit failed it: its method is idempotent, or the client supplied an
// idempotency key, which makes a duplicate harmless.
func replayable(req *http.Request) bool {
	return idempotent(req.Method) || len(req.Header[HeaderIdempotencyKey]) > 0
}

// failoverTarget returns the unit this router sends a request to when its
// own unit cannot serve it, or why there is none. A request that is itself
// a failover is never sent on: that could bounce between two dying units.
func (ex *exchange) failoverTarget(req *http.Request, bodyRead bool) (shard.Unit, string) {
	h := ex.h
	switch {
	case ex.failoverFrom != "":
		return shard.Unit{}, fmt.Sprintf("it already failed over from unit %q", ex.failoverFrom)
	case ex.finalHop:
		return shard.Unit{}, "it already hopped twice"
	case !replayable(req):
		return shard.Unit{}, fmt.Sprintf("%s is not idempotent and the request has no %s header", req.Method, HeaderIdempotencyKey)
	case bodyRead:
		return shard.Unit{}, "its body was already sent and cannot be sent again"
	}
	target, ok := ex.table.FailoverTarget(h.unit)
	switch {
	case !ok || target.Name == h.unit:
		return shard.Unit{}, fmt.Sprintf("unit %q has no failoverTo", h.unit)
	case target.State == shard.UnitDown:
		return shard.Unit{}, fmt.Sprintf("its failover unit %q is down", target.Name)
	case target.RouterAddress == "":
		return shard.Unit{}, fmt.Sprintf("its failover unit %q has no router address", target.Name)
	}
	return target, ""
}

// failOver sends req to target's router, marked so that router serves it
// and never sends it on. It switches the exchange to forwarding so the
// response keeps the target's unit header and errors name its router.
func (h *Handler) failOver(ex *exchange, req *http.Request, target shard.Unit, body *trackedBody) (*upstreamResponse, error) {
	ex.forward = true
	ex.failedOver = true
	ex.target = target
	ex.attempts++
	ex.upstream = target.RouterAddress
	out := *req
	out.Header = req.Header.Clone()
	out.Header[HeaderHop] = []string{hopFirst}
	out.Header[HeaderEpoch] = []string{strconv.FormatInt(ex.epoch, 10)}
	out.Header[HeaderForwardedBy] = h.unitHeader
	out.Header[HeaderFailoverFrom] = h.unitHeader
	h.metrics.failedOver(ex.route.Name, target.Name)
	resp, err := h.attempt(ex, &out, target.RouterAddress, body)
	if err != nil {
		ex.err = fmt.Errorf("failing over to unit %q after %v: %w", target.Name, ex.err, err)
	}
	return resp, err
}
