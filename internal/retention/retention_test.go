package retention_test

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/correlation"
	"github.com/incidenthub/incidenthub/internal/audit"
	"github.com/incidenthub/incidenthub/internal/config"
	"github.com/incidenthub/incidenthub/internal/retention"
	"github.com/incidenthub/incidenthub/internal/store"
	"github.com/incidenthub/incidenthub/internal/storetest"
)

const day = 24 * time.Hour

// now is the fixed time the tests run retention at (microseconds, as
// PostgreSQL stores them).
var now = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// eventID is a UUIDv7 for an event received at t, as InsertEvent makes
// one at arrival.
func eventID(t time.Time) string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	ms := uint64(t.UnixMilli())
	binary.BigEndian.PutUint16(b[4:6], uint16(ms))
	binary.BigEndian.PutUint32(b[0:4], uint32(ms>>16))
	b[6] = 0x70 | b[6]&0x0f
	b[8] = 0x80 | b[8]&0x3f
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// seeder writes rows as the hub would have written them at given times.
type seeder struct {
	t   *testing.T
	st  *store.Store
	ctx context.Context
}

func (s seeder) event(age time.Duration, status string) string {
	s.t.Helper()
	at := now.Add(-age)
	ev := &store.Event{ID: eventID(at), Source: "am", Kind: "alertmanager", ReceivedAt: at, RemoteAddr: "192.0.2.1",
		ContentType: "application/json", Headers: store.JSON[map[string]string]{V: map[string]string{"User-Agent": "am/1"}},
		Body: []byte(`{"secret":"customer data"}`), Status: status}
	if status != store.EventPending {
		p := at.Add(time.Second)
		ev.ProcessedAt = &p
	}
	id, dup, err := s.st.InsertEvent(s.ctx, ev)
	require.NoError(s.t, err)
	require.False(s.t, dup)
	return id
}

func (s seeder) create(v any) {
	s.t.Helper()
	require.NoError(s.t, s.st.DB.WithContext(s.ctx).Create(v).Error)
}

// incident writes an incident with a member alert, a timeline entry, a
// delivery (status delivery) with one attempt, a sync row and a
// notification hold; resolved is nil for an open one.
func (s seeder) incident(key string, opened time.Duration, resolved *time.Duration, updated time.Duration, delivery string, lastEvent string) int64 {
	s.t.Helper()
	inc := &store.Incident{CorrelationKey: key, Status: string(incidenthub.IncidentOpen), Title: key, Severity: "high",
		OpenedAt: now.Add(-opened), LastSeenAt: now.Add(-updated), CreatedAt: now.Add(-opened), UpdatedAt: now.Add(-updated),
		ResolvePolicy: "all"}
	if resolved != nil {
		r := now.Add(-*resolved)
		inc.Status, inc.ResolvedAt = string(incidenthub.IncidentResolved), &r
	}
	s.create(inc)
	s.create(&store.CorrelationKey{CorrelationKey: key, IncidentID: inc.ID})
	s.create(&store.IncidentAlert{IncidentID: inc.ID, Fingerprint: "fp-" + key, Source: "am", Status: "firing", Severity: "high",
		FirstSeenAt: inc.OpenedAt, LastSeenAt: inc.LastSeenAt, LastEventAt: inc.LastSeenAt, LastEventID: lastEvent})
	s.create(&store.TimelineEntry{IncidentID: inc.ID, At: inc.OpenedAt, Kind: "opened", EventID: lastEvent})
	d := &store.Delivery{IncidentID: inc.ID, Target: "hook", TargetType: "webhook", Event: "incident.opened",
		MessageID: "msg-" + key, Status: delivery, State: store.JSON[incidenthub.Incident]{V: inc.Domain()},
		WindowStart: inc.OpenedAt, CreatedAt: inc.OpenedAt, UpdatedAt: inc.OpenedAt}
	s.create(d)
	s.create(&store.DeliveryAttempt{DeliveryID: d.ID, Attempt: 1, StartedAt: inc.OpenedAt, Method: "POST", URL: "https://example.com/hook",
		RequestBody: `{"incident":1}`, ResponseBody: "ok", ResponseStatus: 200, Outcome: "delivered"})
	s.create(&store.DeliverySync{IncidentID: inc.ID, Target: "hook", CreatedAt: inc.OpenedAt, UpdatedAt: inc.OpenedAt})
	require.NoError(s.t, s.st.DB.Exec(`INSERT INTO notification_holds (incident_id, kind, ref, checked_at, created_at) VALUES (?, 'silence', '', ?, ?)`,
		inc.ID, inc.OpenedAt, inc.OpenedAt).Error)
	return inc.ID
}

func (s seeder) attempt(incident int64, age time.Duration) int64 {
	s.t.Helper()
	var d store.Delivery
	require.NoError(s.t, s.st.DB.Where("incident_id = ?", incident).Take(&d).Error)
	a := &store.DeliveryAttempt{DeliveryID: d.ID, Attempt: 2, StartedAt: now.Add(-age), Method: "POST", URL: "https://example.com/hook",
		RequestBody: `{"incident":2}`, ResponseBody: "accepted", ResponseStatus: 200, Outcome: "delivered"}
	s.create(a)
	return a.ID
}

func (s seeder) audit(age time.Duration, action string) {
	s.t.Helper()
	require.NoError(s.t, audit.Record(s.st.DB.WithContext(s.ctx), audit.Entry{At: now.Add(-age), Actor: "alice", Action: action}))
}

func ages(d time.Duration) *time.Duration { return &d }

func runner(st *store.Store, pol retention.Policy) *retention.Runner {
	r, err := retention.New(st, config.DefaultRetentionSchedule, func() retention.Policy { return pol }, nil)
	if err != nil {
		panic(err)
	}
	r.Now = func() time.Time { return now }
	return r
}

var defaults = retention.Policy{EventBodies: 30 * day, AttemptBodies: 14 * day, Events: 90 * day,
	ResolvedIncidents: 365 * day, BatchSize: 2}

func ids[T any](t *testing.T, st *store.Store, q string, args ...any) []T {
	t.Helper()
	var out []T
	require.NoError(t, st.DB.Raw(q, args...).Scan(&out).Error)
	return out
}

// TestRetentionWindows: everything older than its window is purged or
// deleted, and exactly the rows inside their windows survive untouched;
// pending events are never deleted nor blanked; audit records are kept
// without an explicit setting.
func TestRetentionWindows(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		ctx := context.Background()
		st := storetest.Open(t, dialect)
		s := seeder{t, st, ctx}

		// Events. The windows are 30 days (bodies) and 90 (events).
		oldProcessed := s.event(100*day, store.EventProcessed)
		oldUnmapped := s.event(100*day, store.EventUnmapped)
		oldFailed := s.event(91*day, store.EventFailed)
		oldPending := s.event(100*day, store.EventPending)
		justOutside := s.event(90*day+time.Minute, store.EventProcessed)
		justInside := s.event(90*day-time.Minute, store.EventProcessed)
		bodyOld := s.event(31*day, store.EventProcessed)
		bodyPending := s.event(40*day, store.EventPending)
		bodyInside := s.event(30*day-time.Minute, store.EventUnmapped)
		fresh := s.event(time.Hour, store.EventProcessed)
		// Replayed yesterday: processed inside the window, kept.
		replayed := s.event(100*day, store.EventProcessed)
		require.NoError(t, st.DB.Exec(`UPDATE events SET processed_at = ? WHERE id = ?`, now.Add(-day), replayed).Error)
		// The latest event of an open incident's member is kept.
		ofOpen := s.event(120*day, store.EventProcessed)

		// Incidents. The window is 365 days after resolving.
		oldResolved := s.incident("old", 500*day, ages(400*day), 400*day, "delivered", oldProcessed)
		inside := s.incident("inside", 500*day, ages(365*day-time.Minute), 365*day-time.Minute, "delivered", "")
		open := s.incident("open", 500*day, nil, 400*day, "delivered", ofOpen)
		retrying := s.incident("retrying", 500*day, ages(400*day), 400*day, "retrying", "")
		touched := s.incident("touched", 500*day, ages(400*day), day, "delivered", "")

		// Attempts: 14 days.
		attemptOld := s.attempt(inside, 15*day)
		attemptInside := s.attempt(inside, 14*day-time.Minute)

		// Audit: kept forever unless retention.audit is set.
		s.audit(3000*day, "old.action")
		s.audit(time.Minute, "new.action")

		res, err := runner(st, defaults).RunOnce(ctx)
		require.NoError(t, err)

		// Exactly these events survive…
		require.ElementsMatch(t, []string{oldPending, justInside, bodyOld, bodyPending, bodyInside, fresh, replayed, ofOpen},
			ids[string](t, st, `SELECT id FROM events`))
		for _, id := range []string{oldProcessed, oldUnmapped, oldFailed, justOutside} {
			_, err := st.GetEvent(ctx, id)
			require.Equal(t, incidenthub.ENOTFOUND, incidenthub.ErrorCode(err), id)
		}
		// …and exactly these have their bodies and headers blanked.
		require.ElementsMatch(t, []string{justInside, bodyOld, replayed, ofOpen},
			ids[string](t, st, `SELECT id FROM events WHERE body_purged_at IS NOT NULL`))
		for _, id := range []string{justInside, bodyOld, replayed, ofOpen} {
			ev, err := st.GetEvent(ctx, id)
			require.NoError(t, err)
			require.Empty(t, ev.Body, id)
			require.Empty(t, ev.Headers.V, id)
			require.Equal(t, now, ev.BodyPurgedAt.UTC(), id)
			require.Equal(t, store.EventProcessed, ev.Status, "the row and its outcome stay")
		}
		for _, id := range []string{oldPending, bodyPending, bodyInside, fresh} {
			ev, err := st.GetEvent(ctx, id)
			require.NoError(t, err)
			require.Equal(t, `{"secret":"customer data"}`, string(ev.Body), id)
			require.Equal(t, map[string]string{"User-Agent": "am/1"}, ev.Headers.V, id)
			require.Nil(t, ev.BodyPurgedAt, id)
		}

		// Exactly these incidents survive, with everything of theirs.
		require.ElementsMatch(t, []int64{inside, open, retrying, touched}, ids[int64](t, st, `SELECT id FROM incidents`))
		for _, table := range []string{"incident_alerts", "incident_timeline", "deliveries", "delivery_syncs", "notification_holds", "correlation_keys"} {
			require.ElementsMatch(t, []int64{inside, open, retrying, touched},
				ids[int64](t, st, `SELECT DISTINCT incident_id FROM `+table), table)
		}
		require.Zero(t, len(ids[int64](t, st, `SELECT a.id FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id WHERE d.incident_id = ?`, oldResolved)))

		// Attempt bodies: the old one is blanked, the one inside kept.
		purgedAttempts := ids[int64](t, st, `SELECT id FROM delivery_attempts WHERE bodies_purged_at IS NOT NULL`)
		require.Contains(t, purgedAttempts, attemptOld)
		require.NotContains(t, purgedAttempts, attemptInside)
		_, atts, err := st.GetDelivery(ctx, deliveryOf(t, st, inside))
		require.NoError(t, err)
		for _, a := range atts {
			switch a.ID {
			case attemptOld:
				require.Empty(t, a.RequestBody)
				require.Empty(t, a.ResponseBody)
				require.NotNil(t, a.BodiesPurgedAt)
			case attemptInside:
				require.Equal(t, `{"incident":2}`, a.RequestBody)
				require.Equal(t, "accepted", a.ResponseBody)
				require.Nil(t, a.BodiesPurgedAt)
			}
		}

		// Audit kept.
		require.ElementsMatch(t, []string{"old.action", "new.action"}, ids[string](t, st, `SELECT action FROM audit_log`))

		// The counts: 8 bodies older than 30 days that are not pending
		// (4 of them then deleted with their event), 5 incidents' first
		// attempts (opened 500 days ago) and attemptOld, 4 events, 1
		// incident.
		require.Equal(t, int64(8), res.EventBodies)
		require.Equal(t, int64(6), res.AttemptBodies)
		require.Equal(t, int64(4), res.Events)
		require.Equal(t, int64(1), res.ResolvedIncidents)
		require.Zero(t, res.Audit)

		// The deleted incident's key routes nowhere now: its next alert
		// opens a new incident (a key routed to a missing incident would
		// fail correlation).
		var ch []correlation.Change
		require.NoError(t, st.Tx(ctx, func(tx *gorm.DB) error {
			var err error
			ch, err = correlation.ApplyBatch(tx, []correlation.Input{{Key: "old", Now: now, Alert: incidenthub.Alert{
				Source: "am", Fingerprint: "fp-old", Status: incidenthub.AlertFiring, Severity: incidenthub.SeverityHigh,
				Title: "again", StartsAt: now, ReceivedAt: now}}})
			return err
		}))
		require.Equal(t, correlation.Opened, ch[0].Outcome)

		// A second run finds nothing more to do and changes nothing.
		again, err := runner(st, defaults).RunOnce(ctx)
		require.NoError(t, err)
		require.Equal(t, retention.Result{Batches: again.Batches}, again)
		require.Len(t, ids[string](t, st, `SELECT id FROM events`), 8)
	})
}

func deliveryOf(t *testing.T, st *store.Store, incident int64) int64 {
	t.Helper()
	var d store.Delivery
	require.NoError(t, st.DB.Where("incident_id = ?", incident).Order("id").Take(&d).Error)
	return d.ID
}

// TestRetentionAudit: audit records go only with an explicit window, and
// only those older than it; the deletion is itself audited, and the audit
// trail still refuses any other delete.
func TestRetentionAudit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		ctx := context.Background()
		st := storetest.Open(t, dialect)
		s := seeder{t, st, ctx}
		for i := range 5 {
			s.audit(time.Duration(400+i)*day, fmt.Sprintf("old.%d", i))
		}
		s.audit(365*day-time.Minute, "inside")
		s.audit(time.Minute, "new")

		res, err := runner(st, retention.Policy{Audit: 365 * day, BatchSize: 2}).RunOnce(ctx)
		require.NoError(t, err)
		require.Equal(t, int64(5), res.Audit)
		require.ElementsMatch(t, []string{"inside", "new", "retention.audit_deleted"}, ids[string](t, st, `SELECT action FROM audit_log`))
		require.Equal(t, []string{"5 audit records older than 365d deleted (retention.audit)"},
			ids[string](t, st, `SELECT detail FROM audit_log WHERE action = 'retention.audit_deleted'`))

		// Outside retention's transaction the trail is append-only still.
		require.Error(t, st.DB.Exec(`DELETE FROM audit_log WHERE action = 'new'`).Error)
		require.Error(t, st.DB.Exec(`UPDATE audit_log SET actor = 'mallory'`).Error)
		var purge int64
		require.NoError(t, st.DB.Raw(`SELECT COUNT(*) FROM audit_log_purge`).Scan(&purge).Error)
		require.Zero(t, purge, "the grant row never commits")
	})
}

// TestRetentionBatches: no batch changes more than batch_size rows (an
// incident batch takes a tenth, at least one), and every batch commits on
// its own.
func TestRetentionBatches(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		ctx := context.Background()
		st := storetest.Open(t, dialect)
		s := seeder{t, st, ctx}
		for range 7 {
			s.event(100*day, store.EventProcessed)
		}
		for i := range 3 {
			s.incident(fmt.Sprintf("k%d", i), 500*day, ages(400*day), 400*day, "delivered", "")
		}
		r := runner(st, retention.Policy{EventBodies: 30 * day, Events: 90 * day, ResolvedIncidents: 365 * day, BatchSize: 3})
		var mu sync.Mutex
		batches := map[string][]int64{}
		r.OnBatch = func(step string, rows int64) {
			mu.Lock()
			defer mu.Unlock()
			batches[step] = append(batches[step], rows)
			if step == retention.StepEvents {
				// Each batch is committed when it is reported.
				var n int64
				require.NoError(t, st.DB.Raw(`SELECT COUNT(*) FROM events`).Scan(&n).Error)
				var done int64
				for _, b := range batches[step] {
					done += b
				}
				require.Equal(t, 7-done, n)
			}
		}
		res, err := r.RunOnce(ctx)
		require.NoError(t, err)
		require.Equal(t, []int64{3, 3, 1}, batches[retention.StepEventBodies])
		require.Equal(t, []int64{3, 3, 1}, batches[retention.StepEvents])
		require.Equal(t, []int64{1, 1, 1, 0}, batches[retention.StepResolvedIncidents])
		require.Equal(t, int64(7), res.Events)
		require.Equal(t, int64(3), res.ResolvedIncidents)
		require.Equal(t, 3+3+4, res.Batches)
	})
}

// TestRetentionLease: two replicas running at once do not both run: the
// second is refused while the first holds the lease, a scheduled tick
// right after a run is not due, and a replica whose lease was taken over
// (it stalled past the lease) commits no further batch.
func TestRetentionLease(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		ctx := context.Background()
		st := storetest.Open(t, dialect)
		s := seeder{t, st, ctx}
		for range 6 {
			s.event(100*day, store.EventProcessed)
		}
		pol := retention.Policy{Events: 90 * day, BatchSize: 2}
		a, b := runner(st, pol), runner(st, pol)
		require.NotEqual(t, a.Owner, b.Owner)

		inBatch, resume := make(chan struct{}), make(chan struct{})
		var once sync.Once
		a.OnBatch = func(string, int64) {
			once.Do(func() { close(inBatch); <-resume })
		}
		type outcome struct {
			res retention.Result
			err error
		}
		done := make(chan outcome, 1)
		go func() { res, err := a.RunOnce(ctx); done <- outcome{res, err} }()
		<-inBatch

		// A runs (one batch done, paused): B is refused, forced or not.
		_, err := b.RunOnce(ctx)
		require.ErrorIs(t, err, retention.ErrLeaseHeld)
		var n int64
		require.NoError(t, st.DB.Raw(`SELECT COUNT(*) FROM events`).Scan(&n).Error)
		require.Equal(t, int64(4), n, "B deleted nothing")

		close(resume)
		out := <-done
		require.NoError(t, out.err)
		require.Equal(t, int64(6), out.res.Events)

		// The lease is free again; a scheduled tick on B is not due (A ran
		// for this scheduled time), but a forced run goes ahead.
		_, err = retention.RunDue(ctx, b)
		require.ErrorIs(t, err, retention.ErrNotDue)
		_, err = b.RunOnce(ctx)
		require.NoError(t, err)

		// Fencing: C stalls past its lease; D takes the lease over; C's next
		// batch is refused and commits nothing.
		for range 6 {
			s.event(100*day, store.EventProcessed)
		}
		c, d := runner(st, pol), runner(st, pol)
		c.LeaseTTL = time.Minute
		inBatch, resume = make(chan struct{}), make(chan struct{})
		once = sync.Once{}
		c.OnBatch = func(string, int64) {
			once.Do(func() { close(inBatch); <-resume })
		}
		go func() { res, err := c.RunOnce(ctx); done <- outcome{res, err} }()
		<-inBatch
		d.Now = func() time.Time { return now.Add(2 * time.Minute) }
		d.OnBatch = nil
		dres, err := d.RunOnce(ctx)
		require.NoError(t, err)
		require.Equal(t, int64(4), dres.Events, "D deleted what C had left")
		close(resume)
		out = <-done
		require.ErrorIs(t, out.err, retention.ErrLeaseHeld)
		require.Equal(t, int64(2), out.res.Events, "C stopped after its first batch")
	})
}

// TestRetentionRun: Run fires on its own (here the start-up run, due on a
// fresh database), logs one INFO line with the counts, and returns when
// its context ends.
func TestRetentionRun(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		ctx, cancel := context.WithCancel(context.Background())
		st := storetest.Open(t, dialect)
		s := seeder{t, st, ctx}
		old := s.event(100*day, store.EventProcessed)
		kept := s.event(day, store.EventProcessed)
		var logs lockedBuffer
		r := runner(st, defaults)
		r.Log = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		r.StartDelay = 10 * time.Millisecond
		done := make(chan struct{})
		go func() { defer close(done); r.Run(ctx) }()
		require.Eventually(t, func() bool { return strings.Contains(logs.String(), `msg="retention run"`) },
			10*time.Second, 10*time.Millisecond)
		cancel()
		<-done
		require.Equal(t, []string{kept}, ids[string](t, st, `SELECT id FROM events`), "not "+old)
		lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
		require.Len(t, lines, 1, logs.String())
		require.Contains(t, lines[0], "level=INFO")
		require.Contains(t, lines[0], "event_bodies=1 attempt_bodies=0 events=1 resolved_incidents=0 audit=0")
	})
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
