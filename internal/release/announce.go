package release

import (
	"fmt"
	"hash/fnv"
)

// BatchEvents are the events that mark a release's batches: one when a batch
// starts and one when it completes. They come from the batch history, not
// from Plan's transitions, so that none is lost when the controller stops
// between storing the status and recording the event: announced is the
// history as last recorded once its events were sent (the shell keeps it
// beside the revision), batches the history in the stored status, and every
// fact in batches that announced lacks is announced again. Each event carries
// a Key that names the fact (revision, batch, start time, reason), so the
// shell can send it under a fixed name and the API server keeps one of each
// however often it is sent.
//
// A batch is the same batch when its number and start second match: a later
// release to the same revision (a rollback) starts its batches again, at
// other times.
func BatchEvents(revision string, announced, batches []BatchRecord) []Event {
	var events []Event
	for _, b := range batches {
		if b.StartedAt.IsZero() {
			continue
		}
		before, known := findBatch(announced, b)
		if !known {
			message := fmt.Sprintf("batch %d started: %d pods at revision %s when complete", b.Batch, b.Target, revision)
			if b.ConfirmedBy != "" {
				message += ", approved by " + b.ConfirmedBy
			}
			events = append(events, keyed(revision, b, ReasonBatchStarted, message))
		}
		if !b.CompletedAt.IsZero() && (!known || before.CompletedAt.IsZero()) {
			events = append(events, keyed(revision, b, ReasonBatchCompleted,
				fmt.Sprintf("batch %d completed: %d pods at revision %s", b.Batch, b.Target, revision)))
		}
	}
	return events
}

func findBatch(records []BatchRecord, b BatchRecord) (BatchRecord, bool) {
	for _, r := range records {
		if r.Batch == b.Batch && r.StartedAt.Unix() == b.StartedAt.Unix() {
			return r, true
		}
	}
	return BatchRecord{}, false
}

// keyed makes a batch's event with a key that depends on the fact alone:
// seconds, as the stored status keeps time.
func keyed(revision string, b BatchRecord, reason, message string) Event {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s/%d/%d/%s", revision, b.Batch, b.StartedAt.Unix(), reason)
	return Event{Type: EventNormal, Reason: reason, Message: message, Key: fmt.Sprintf("%016x", h.Sum64())}
}
