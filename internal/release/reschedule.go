package release

import (
	"fmt"
	"sort"
	"time"
)

// Auto-reschedule moves quota away from a unit whose pods cannot be
// scheduled, and gives it back once the unit has room again.
//
// A move happens when some of a unit's pods have been unschedulable for at
// least AutoReschedule.PendingFor and the unit runs exactly the replicas the
// release approved (so an earlier move's scale-in has finished and the same
// pods are not counted twice). That many pods of quota go to the other units
// that have free capacity and no unschedulable pods, the roomiest first. The
// pods keep their revisions: a moved pod at the release's revision is
// recreated at it in the new unit, and a moved old pod is recreated old, so a
// move neither approves nor undoes any part of the release.
//
// Quota comes back one pod per unit per Plan, and only while the unit that
// lent it has free capacity, no unschedulable pods, and all the replicas it
// runs ready. Each returned pod must therefore be scheduled and ready before
// the next one comes back, which paces the return to the speed at which the
// unit really absorbs pods, and stops it as soon as the unit is full again.
// Giving back happens even with auto-reschedule turned off, so that turning
// it off restores the spec's balance.

// keepMoves restores the moves of the last status that still apply to the
// current units and sets the units' quotas from them. A move from a unit that
// no longer has that much quota (the user scaled down) shrinks.
func (p *planner) keepMoves(previous []QuotaMove, base []int32) {
	p.quota = append([]int32(nil), base...)
	for _, m := range previous {
		from, okFrom := p.index[m.From]
		to, okTo := p.index[m.To]
		if !okFrom || !okTo || from == to {
			continue
		}
		n := min(m.Count, p.quota[from])
		if n <= 0 {
			continue
		}
		p.quota[from] -= n
		p.quota[to] += n
		m.Count = n
		p.moves = append(p.moves, m)
	}
}

func (p *planner) reschedule() {
	moved := make([]bool, len(p.names))
	if p.in.AutoReschedule.Enabled {
		room := make([]int32, len(p.names))
		for i, o := range p.obs {
			if len(o.Unschedulable) == 0 {
				room[i] = max(o.FreeCapacity, 0)
			}
		}
		for from := range p.names {
			stuck := p.unschedulableLongEnough(from)
			if stuck == 0 || p.obs[from].Replicas != p.state[from].replicas() {
				continue
			}
			for _, to := range byRoom(room, from) {
				n := min(stuck, room[to])
				if n == 0 {
					break
				}
				p.transfer(from, to, n)
				room[to] -= n
				stuck -= n
				moved[from] = true
				p.event(EventWarning, ReasonQuotaMoved, fmt.Sprintf(
					"moved %d pods of quota from unit %s to unit %s: unschedulable in %s for %s or more",
					n, p.names[from], p.names[to], p.names[from], seconds(p.in.AutoReschedule.PendingFor)))
			}
		}
	}
	returned := make([]bool, len(p.names))
	for _, m := range append([]QuotaMove(nil), p.moves...) {
		lender, borrower := p.index[m.From], p.index[m.To]
		if moved[lender] || returned[lender] || !p.hasRoomAgain(lender) {
			continue
		}
		p.transfer(borrower, lender, 1)
		returned[lender] = true
		p.event(EventNormal, ReasonQuotaReturned, fmt.Sprintf(
			"returned 1 pod of quota from unit %s to unit %s: it has room again", m.To, m.From))
	}
}

// unschedulableLongEnough counts the unit's pods unschedulable for at least
// the reschedule delay, and asks for a recheck when a younger one would
// reach it.
func (p *planner) unschedulableLongEnough(unit int) int32 {
	delay := p.in.AutoReschedule.PendingFor
	var n int32
	for _, since := range p.obs[unit].Unschedulable {
		waited := max(p.now.Sub(since), 0)
		if waited >= delay {
			n++
		} else {
			p.recheckIn(delay - waited)
		}
	}
	return min(n, p.quota[unit])
}

// byRoom lists the units other than from that have room, the roomiest first.
func byRoom(room []int32, from int) []int {
	var units []int
	for i, r := range room {
		if i != from && r > 0 {
			units = append(units, i)
		}
	}
	sort.SliceStable(units, func(a, b int) bool { return room[units[a]] > room[units[b]] })
	return units
}

func (p *planner) hasRoomAgain(unit int) bool {
	o, runs := p.obs[unit], p.state[unit].replicas()
	return len(o.Unschedulable) == 0 && o.FreeCapacity > 0 && o.Replicas == runs && o.Ready >= runs
}

// transfer moves n pods of quota, and the pods themselves, between units,
// cancelling quota the receiver had lent to the giver before recording a new
// move.
func (p *planner) transfer(from, to int, n int32) {
	left, taken := p.state[from].give(n)
	p.state[from] = left
	p.state[to] = p.state[to].receive(taken)
	p.quota[from] -= n
	p.quota[to] += n

	fromName, toName := p.names[from], p.names[to]
	for i := range p.moves {
		if m := &p.moves[i]; m.From == toName && m.To == fromName {
			back := min(n, m.Count)
			m.Count -= back
			n -= back
		}
	}
	if n > 0 {
		found := false
		for i := range p.moves {
			if m := &p.moves[i]; m.From == fromName && m.To == toName {
				m.Count += n
				m.Time = p.now
				found = true
			}
		}
		if !found {
			p.moves = append(p.moves, QuotaMove{From: fromName, To: toName, Count: n, Time: p.now, Reason: MoveReasonUnschedulable})
		}
	}
	kept := p.moves[:0]
	for _, m := range p.moves {
		if m.Count > 0 {
			kept = append(kept, m)
		}
	}
	p.moves = kept
}

// seconds prints a duration in whole seconds, e.g. "1m0s".
func seconds(d time.Duration) string { return d.Truncate(time.Second).String() }
