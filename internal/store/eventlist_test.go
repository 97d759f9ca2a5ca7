package store_test

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/internal/store"
	"github.com/incidenthub/incidenthub/internal/storetest"
)

// idAt is a UUIDv7 for time t, as uuid.NewV7 makes for now: seeding many
// events across days keeps id order and received_at order together, as
// real arrivals do.
func idAt(t time.Time) string {
	var u uuid.UUID
	_, _ = rand.Read(u[:])
	var ms [8]byte
	binary.BigEndian.PutUint64(ms[:], uint64(t.UnixMilli()))
	copy(u[:6], ms[2:])
	u[6] = 0x70 | u[6]&0x0f
	u[8] = 0x80 | u[8]&0x3f
	return u.String()
}

func ids(list []store.EventSummary) []string {
	out := make([]string, len(list))
	for i, e := range list {
		out[i] = e.ID
	}
	return out
}

// TestListEvents: every filter, the summary's computed columns, and paging,
// on both stores.
func TestListEvents(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		ctx := context.Background()
		st := storetest.Open(t, dialect)
		base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

		type seed struct {
			source, kind, status string
			minutes              int // after base
			alerts               int
			key                  string
		}
		seeds := []seed{
			{"dd", "datadog", store.EventProcessed, 0, 1, "a"},
			{"dd", "datadog", store.EventUnmapped, 1, 0, ""},
			{"am", "alertmanager", store.EventProcessed, 2, 3, "b"},
			{"am", "alertmanager", store.EventFailed, 3, 0, ""},
			{"dd", "datadog", store.EventPending, 4, 0, ""},
			{"gen", "generic", store.EventUnmapped, 5, 0, ""},
			{"dd", "datadog", store.EventProcessed, 6, 2, ""},
		}
		var all []string // newest first
		for _, sd := range seeds {
			at := base.Add(time.Duration(sd.minutes) * time.Minute)
			ev := &store.Event{ID: idAt(at), Source: sd.source, Kind: sd.kind, ReceivedAt: at, Status: sd.status,
				RemoteAddr: "192.0.2.7", ContentType: "application/json", Body: []byte(`{"n":` + fmt.Sprint(sd.minutes) + `}`)}
			if sd.key != "" {
				ev.DedupKey = ptr(sd.key)
			}
			if sd.status == store.EventUnmapped {
				ev.Error = "alertname is missing"
			}
			if sd.alerts > 0 {
				ev.Alerts = store.JSON[[]incidenthub.Alert]{V: make([]incidenthub.Alert, sd.alerts)}
			}
			id, dup, err := st.InsertEvent(ctx, ev)
			require.NoError(t, err)
			require.False(t, dup)
			all = append([]string{id}, all...)
		}
		// A repeat of the first and two of the third.
		for _, key := range []string{"a", "b", "b"} {
			_, dup, err := st.InsertEvent(ctx, &store.Event{Source: map[string]string{"a": "dd", "b": "am"}[key], Kind: "x",
				DedupKey: ptr(key), ReceivedAt: base.Add(time.Hour), Body: []byte(`{}`)})
			require.NoError(t, err)
			require.True(t, dup)
		}

		list := func(f store.EventFilter) []store.EventSummary {
			t.Helper()
			got, next, err := st.ListEvents(ctx, f)
			require.NoError(t, err)
			require.Empty(t, next)
			return got
		}
		pick := func(idx ...int) []string { // indexes into seeds
			var out []string
			for i := len(seeds) - 1; i >= 0; i-- {
				for _, j := range idx {
					if i == j {
						out = append(out, all[len(seeds)-1-i])
					}
				}
			}
			return out
		}

		got := list(store.EventFilter{})
		require.Equal(t, all, ids(got), "newest first")
		first := got[len(got)-1]
		require.Equal(t, "dd", first.Source)
		require.Equal(t, "datadog", first.Kind)
		require.Equal(t, store.EventProcessed, first.Status)
		require.Equal(t, "192.0.2.7", first.RemoteAddr)
		require.Equal(t, "application/json", first.ContentType)
		require.EqualValues(t, len(`{"n":0}`), first.Size)
		require.Equal(t, 1, first.AlertCount)
		require.Equal(t, 1, first.Duplicates)
		require.WithinDuration(t, base.Add(time.Hour), *first.LastDuplicateAt, time.Millisecond)
		require.True(t, first.ReceivedAt.Equal(base), "%s", first.ReceivedAt)
		require.Equal(t, 3, got[len(got)-3].AlertCount)
		require.Equal(t, 0, got[len(got)-2].AlertCount, "no alerts (NULL) counts 0")
		require.Equal(t, "alertname is missing", got[len(got)-2].Error)

		require.Equal(t, pick(0, 1, 4, 6), ids(list(store.EventFilter{Source: "dd"})))
		require.Equal(t, pick(1, 5), ids(list(store.EventFilter{Status: store.EventUnmapped})))
		require.Equal(t, pick(1), ids(list(store.EventFilter{Source: "dd", Status: store.EventUnmapped})))
		require.Equal(t, pick(3), ids(list(store.EventFilter{Status: store.EventFailed})))
		require.Equal(t, pick(4), ids(list(store.EventFilter{Status: store.EventPending})))
		require.Equal(t, pick(0, 2, 6), ids(list(store.EventFilter{Status: store.EventProcessed})))
		require.Equal(t, pick(0, 2), ids(list(store.EventFilter{Status: store.EventDuplicate})))
		require.Equal(t, pick(2), ids(list(store.EventFilter{Status: store.EventDuplicate, Source: "am"})))
		require.Equal(t, 2, list(store.EventFilter{Status: store.EventDuplicate, Source: "am"})[0].Duplicates)
		require.Equal(t, pick(2, 3), ids(list(store.EventFilter{Kind: "alertmanager"})))
		require.Empty(t, list(store.EventFilter{Source: "nope"}))

		// Since is inclusive, until exclusive, to the microsecond (PostgreSQL keeps no finer).
		require.Equal(t, pick(2, 3, 4), ids(list(store.EventFilter{Since: base.Add(2 * time.Minute), Until: base.Add(5 * time.Minute)})))
		require.Equal(t, pick(2, 3, 4, 5), ids(list(store.EventFilter{Since: base.Add(2 * time.Minute), Until: base.Add(5*time.Minute + time.Microsecond)})))
		require.Equal(t, pick(5, 6), ids(list(store.EventFilter{Since: base.Add(4*time.Minute + time.Microsecond)})))
		require.Equal(t, pick(0), ids(list(store.EventFilter{Until: base.Add(time.Minute)})))
		// A non-UTC bound means the same instant.
		cet := time.FixedZone("CET", 3600)
		require.Equal(t, pick(0, 1), ids(list(store.EventFilter{Until: base.Add(2 * time.Minute).In(cet)})))
		require.Equal(t, pick(1, 4), ids(list(store.EventFilter{Source: "dd", Since: base.Add(time.Minute), Until: base.Add(6 * time.Minute)})))

		// Paging: three pages of 3, 3, 1, in order, the cursor being the
		// last id of the page.
		var paged []string
		f := store.EventFilter{Limit: 3}
		for range 5 {
			page, next, err := st.ListEvents(ctx, f)
			require.NoError(t, err)
			paged = append(paged, ids(page)...)
			if next == "" {
				break
			}
			require.Equal(t, page[len(page)-1].ID, next)
			f.After = next
		}
		require.Equal(t, all, paged)
	})
}

// TestListEventsPlan: with 20,000 events in a realistic mix, every filter
// of the list reads an index in id order: no sequential scan of events and
// no sort, on both stores. Run with -v to see the plans.
func TestListEventsPlan(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		ctx := context.Background()
		st := storetest.Open(t, dialect)
		const n = 20000
		start := time.Now().UTC().Add(-7 * 24 * time.Hour)
		step := 7 * 24 * time.Hour / n
		rows := make([]store.Event, 0, n)
		for i := range n {
			at := start.Add(time.Duration(i) * step)
			// Sources: 60% datadog, 30% alertmanager, 9% grafana, 1% rare.
			src, kind := "datadog", "datadog"
			switch m := i % 100; {
			case m == 99:
				src, kind = "rare", "generic"
			case m >= 90:
				src, kind = "grafana", "grafana"
			case m >= 60:
				src, kind = "alertmanager", "alertmanager"
			}
			// Statuses: 3% unmapped, 0.5% failed, the newest 300 pending.
			status := store.EventProcessed
			switch {
			case i >= n-300:
				status = store.EventPending
			case i%33 == 0:
				status = store.EventUnmapped
			case i%200 == 7:
				status = store.EventFailed
			}
			ev := store.Event{ID: idAt(at), Source: src, Kind: kind, ReceivedAt: at, Status: status, RemoteAddr: "10.0.0.1",
				ContentType: "application/json", Headers: store.JSON[map[string]string]{V: map[string]string{"User-Agent": "x"}},
				Body:   []byte(fmt.Sprintf(`{"id":%d,"title":"disk full on web-%d","tags":["env:prod","team:core"]}`, i, i%40)),
				Alerts: store.JSON[[]incidenthub.Alert]{V: []incidenthub.Alert{{Source: src, Title: "disk full"}}}}
			if i%97 == 3 { // 1% got a duplicate
				ev.Duplicates, ev.LastDuplicateAt = 1, &at
			}
			rows = append(rows, ev)
		}
		require.NoError(t, st.DB.CreateInBatches(rows, 500).Error)
		analyze := "ANALYZE"
		if dialect == store.Postgres {
			analyze = "ANALYZE events"
		}
		require.NoError(t, st.DB.Exec(analyze).Error)

		now := time.Now().UTC()
		mid := rows[n/2].ID
		filters := map[string]store.EventFilter{
			"all":                           {},
			"next page":                     {After: mid},
			"source":                        {Source: "datadog"},
			"rare source":                   {Source: "rare"},
			"rare source, next page":        {Source: "rare", After: mid},
			"status unmapped":               {Status: store.EventUnmapped},
			"status processed":              {Status: store.EventProcessed},
			"status failed, next page":      {Status: store.EventFailed, After: mid},
			"status duplicate":              {Status: store.EventDuplicate},
			"source and status":             {Source: "alertmanager", Status: store.EventUnmapped},
			"rare source and status":        {Source: "rare", Status: store.EventProcessed},
			"source and duplicate":          {Source: "grafana", Status: store.EventDuplicate},
			"kind":                          {Kind: "grafana"},
			"last hour":                     {Since: now.Add(-time.Hour)},
			"source, last day":              {Source: "grafana", Since: now.Add(-24 * time.Hour)},
			"unmapped of a source, 3 days":  {Source: "datadog", Status: store.EventUnmapped, Since: now.Add(-3 * 24 * time.Hour), Until: now.Add(-2 * 24 * time.Hour)},
			"one hour three days ago":       {Since: now.Add(-72 * time.Hour), Until: now.Add(-71 * time.Hour)},
			"all filters with a cursor, 50": {Source: "datadog", Status: store.EventProcessed, Kind: "datadog", Since: start, Until: now, After: mid, Limit: 50},
		}
		for _, name := range slices.Sorted(maps.Keys(filters)) {
			f := filters[name]
			q := st.ListEventsSQL(f)
			var plan []string
			if dialect == store.Postgres {
				require.NoError(t, st.DB.Raw("EXPLAIN "+q).Scan(&plan).Error, q)
			} else {
				var steps []struct {
					ID, Parent, Notused int
					Detail              string
				}
				require.NoError(t, st.DB.Raw("EXPLAIN QUERY PLAN "+q).Scan(&steps).Error, q)
				for _, s := range steps {
					plan = append(plan, s.Detail)
				}
			}
			text := strings.Join(plan, "\n")
			t.Logf("%s (%s):\n%s", name, dialect, text)
			if dialect == store.Postgres {
				require.NotContains(t, text, "Seq Scan", name)
			} else {
				require.Regexp(t, `(?m)^SEARCH events USING|^SCAN events USING`, text, name)
				require.NotRegexp(t, `(?m)^SCAN events$`, text, name)
			}
			// And the query answers what it should.
			got, _, err := st.ListEvents(ctx, f)
			require.NoError(t, err, name)
			require.NotEmpty(t, got, name)
			for _, e := range got {
				require.True(t, f.Source == "" || e.Source == f.Source, name)
				require.True(t, f.After == "" || e.ID < f.After, name)
			}
		}
	})
}
