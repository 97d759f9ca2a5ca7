package retention

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/incidenthub/incidenthub/internal/store"
)

// finished are the event statuses retention may delete: every status but
// pending (an event waiting to be processed, or to be retried).
var finished = []string{store.EventProcessed, store.EventUnmapped, store.EventFailed}

// eventBodies blanks the body and headers of up to n events received
// before cutoff, walking events in id order (UUIDv7: arrival order) from
// the saved cursor, so each row is looked at once. The walk stops at the
// first event not yet old enough; a pending event is stepped over and
// keeps its body (its processing needs it) until the event is deleted.
func (l *lease) eventBodies(cutoff, now time.Time, n int) batchFunc {
	return func(tx *gorm.DB) (int64, bool, error) {
		var rows []struct {
			ID           string
			Status       string
			ReceivedAt   time.Time
			BodyPurgedAt *time.Time
		}
		err := tx.Raw(`SELECT id, status, received_at, body_purged_at FROM events WHERE id > ? ORDER BY id LIMIT ?`,
			l.eventCursor, n).Scan(&rows).Error
		if err != nil {
			return 0, false, err
		}
		cursor, more := l.eventCursor, len(rows) == n
		var ids []string
		for _, e := range rows {
			if !e.ReceivedAt.Before(cutoff) {
				more = false
				break
			}
			cursor = e.ID
			if e.Status != store.EventPending && e.BodyPurgedAt == nil {
				ids = append(ids, e.ID)
			}
		}
		var purged int64
		if len(ids) > 0 {
			// The conditions again: the row may have changed since the
			// read (a replay makes it pending).
			res := tx.Exec(`UPDATE events SET body = ?, headers = '{}', body_purged_at = ?
				WHERE id IN ? AND status <> ? AND body_purged_at IS NULL AND received_at < ?`,
				[]byte{}, now, ids, store.EventPending, cutoff)
			if res.Error != nil {
				return 0, false, res.Error
			}
			purged = res.RowsAffected
		}
		return purged, more, l.renew(tx, cursor, l.attemptCursor)
	}
}

// attemptBodies blanks the request and response bodies of up to n
// delivery attempts started before cutoff, in id order from the cursor,
// stopping at the first attempt not yet old enough. Headers (already
// redacted, and small) are kept.
func (l *lease) attemptBodies(cutoff, now time.Time, n int) batchFunc {
	return func(tx *gorm.DB) (int64, bool, error) {
		var rows []struct {
			ID             int64
			StartedAt      time.Time
			BodiesPurgedAt *time.Time
		}
		err := tx.Raw(`SELECT id, started_at, bodies_purged_at FROM delivery_attempts WHERE id > ? ORDER BY id LIMIT ?`,
			l.attemptCursor, n).Scan(&rows).Error
		if err != nil {
			return 0, false, err
		}
		cursor, more := l.attemptCursor, len(rows) == n
		var ids []int64
		for _, a := range rows {
			if !a.StartedAt.Before(cutoff) {
				more = false
				break
			}
			cursor = a.ID
			if a.BodiesPurgedAt == nil {
				ids = append(ids, a.ID)
			}
		}
		var purged int64
		if len(ids) > 0 {
			res := tx.Exec(`UPDATE delivery_attempts SET request_body = '', response_body = '', bodies_purged_at = ?
				WHERE id IN ? AND bodies_purged_at IS NULL AND started_at < ?`, now, ids, cutoff)
			if res.Error != nil {
				return 0, false, res.Error
			}
			purged = res.RowsAffected
		}
		return purged, more, l.renew(tx, l.eventCursor, cursor)
	}
}

// idBound is the smallest UUIDv7 text of an event received at cutoff: an
// event id (UUIDv7, assigned at arrival) below it arrived before cutoff,
// so the primary key bounds the scan for old events. The received_at
// condition beside it decides; an id that is not a UUIDv7 sorts after it
// (a letter) or is judged by received_at alone.
func idBound(cutoff time.Time) string {
	ms := uint64(max(cutoff.UnixMilli(), 0))
	return fmt.Sprintf("%08x-%04x-", ms>>16, ms&0xffff)
}

// events deletes up to n finished events received and last processed
// before cutoff. The latest event of a member alert of an unresolved
// incident is kept (it is what the incident page links to); no table
// references events with a foreign key (incident_alerts.last_event_id
// and incident_timeline.event_id are plain text), so nothing else stops
// a delete.
func (l *lease) events(cutoff time.Time, n int) batchFunc {
	return func(tx *gorm.DB) (int64, bool, error) {
		res := tx.Exec(`DELETE FROM events WHERE id IN (
				SELECT id FROM events
				WHERE id < ? AND received_at < ? AND status IN ? AND (processed_at IS NULL OR processed_at < ?)
				  AND id NOT IN (SELECT m.last_event_id FROM incident_alerts m JOIN incidents i ON i.id = m.incident_id
				                 WHERE i.status <> 'resolved')
				ORDER BY id LIMIT ?)
			AND received_at < ? AND status IN ? AND (processed_at IS NULL OR processed_at < ?)`,
			idBound(cutoff), cutoff, finished, cutoff, n, cutoff, finished, cutoff)
		if res.Error != nil {
			return 0, false, res.Error
		}
		return res.RowsAffected, res.RowsAffected == int64(n), l.renew(tx, l.eventCursor, l.attemptCursor)
	}
}

// oldIncidents selects resolved incidents untouched since cutoff with no
// delivery still to make (none pending or retrying, no sync queued or
// running), so no job of the delivery queue finds its incident gone.
const oldIncidents = `FROM incidents i
	WHERE i.status = 'resolved' AND i.resolved_at < ? AND i.updated_at < ?
	  AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.incident_id = i.id AND d.status IN ('pending', 'retrying'))
	  AND NOT EXISTS (SELECT 1 FROM delivery_syncs s WHERE s.incident_id = i.id
	                  AND (s.job_queued = ? OR (s.lease_until IS NOT NULL AND s.lease_until > ?)))`

// incidents deletes up to k incidents resolved before cutoff; the
// database cascades to their members (and inhibit sources), timeline,
// delivery syncs, transitions, deliveries and attempts. Their
// notification holds go too, and the correlation_keys rows routing to
// them (the next alert of such a key opens a new incident). Locks are
// taken as correlation takes them, keys first, then incidents, so the
// two cannot deadlock; the conditions are checked again under the locks.
func (l *lease) incidents(dialect string, cutoff, now time.Time, k int) batchFunc {
	return func(tx *gorm.DB) (int64, bool, error) {
		var ids []int64
		err := tx.Raw(`SELECT i.id `+oldIncidents+` ORDER BY i.id LIMIT ?`, cutoff, cutoff, true, now, k).Scan(&ids).Error
		if err != nil {
			return 0, false, err
		}
		more := len(ids) == k
		if len(ids) == 0 {
			return 0, false, l.renew(tx, l.eventCursor, l.attemptCursor)
		}
		lock := ""
		if dialect == store.Postgres {
			// SQLite has one writer: its transaction excludes the others.
			lock = " FOR UPDATE"
			var keys []string
			err = tx.Raw(`SELECT correlation_key FROM correlation_keys WHERE incident_id IN ? ORDER BY correlation_key`+lock, ids).
				Scan(&keys).Error
			if err != nil {
				return 0, false, fmt.Errorf("lock keys: %w", err)
			}
		}
		var gone []int64
		err = tx.Raw(`SELECT i.id `+oldIncidents+` AND i.id IN ? ORDER BY i.id`+lock, cutoff, cutoff, true, now, ids).Scan(&gone).Error
		if err != nil {
			return 0, false, fmt.Errorf("lock incidents: %w", err)
		}
		if len(gone) == 0 {
			return 0, more, l.renew(tx, l.eventCursor, l.attemptCursor)
		}
		for _, q := range []string{
			`DELETE FROM correlation_keys WHERE incident_id IN ?`,
			`DELETE FROM notification_holds WHERE incident_id IN ?`,
		} {
			if err := tx.Exec(q, gone).Error; err != nil {
				return 0, false, err
			}
		}
		res := tx.Exec(`DELETE FROM incidents WHERE id IN ?`, gone)
		if res.Error != nil {
			return 0, false, res.Error
		}
		return res.RowsAffected, more, l.renew(tx, l.eventCursor, l.attemptCursor)
	}
}

// audit deletes up to n audit records older than cutoff. The audit trail
// is append-only (database triggers refuse deletes); the trigger lets a
// transaction delete while it holds a row of audit_log_purge, which this
// one inserts and removes before it commits, so no other transaction ever
// sees it.
func (l *lease) audit(cutoff time.Time, n int) batchFunc {
	return func(tx *gorm.DB) (int64, bool, error) {
		var b [16]byte
		_, _ = rand.Read(b[:])
		token := hex.EncodeToString(b[:])
		if err := tx.Exec(`INSERT INTO audit_log_purge (token) VALUES (?)`, token).Error; err != nil {
			return 0, false, err
		}
		res := tx.Exec(`DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log WHERE at < ? ORDER BY id LIMIT ?)`, cutoff, n)
		if res.Error != nil {
			return 0, false, res.Error
		}
		if err := tx.Exec(`DELETE FROM audit_log_purge WHERE token = ?`, token).Error; err != nil {
			return 0, false, err
		}
		return res.RowsAffected, res.RowsAffected == int64(n), l.renew(tx, l.eventCursor, l.attemptCursor)
	}
}
