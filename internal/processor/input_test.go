package processor_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/internal/processor"
	"github.com/incidenthub/incidenthub/internal/store"
	"github.com/incidenthub/incidenthub/internal/storetest"
	"github.com/incidenthub/incidenthub/mappings"
)

// store inserts body as an event of kind generic, as ingest does (dedup
// key from the mapping), with headers.
func storeRaw(t *testing.T, st *store.Store, body []byte, headers map[string]string) string {
	t.Helper()
	ev := &store.Event{Source: "gen", Kind: "generic", ReceivedAt: time.Now().UTC(), Body: body,
		Headers: store.JSON[map[string]string]{V: headers}}
	if k := mappings.DedupKey("generic", body); k != "" {
		ev.DedupKey = &k
	}
	id, _, err := st.InsertEvent(context.Background(), ev)
	require.NoError(t, err, "a well-formed event is stored")
	return id
}

func drain(t *testing.T, st *store.Store) {
	t.Helper()
	p := processor.New(st, slog.New(slog.NewTextHandler(io.Discard, nil)), 1, time.Second)
	for {
		did, err := p.ProcessOne(context.Background())
		require.NoError(t, err)
		if !did {
			return
		}
	}
}

const fffd = "\uFFFD"

// A NUL (\u0000) in any string of a payload, and invalid UTF-8 inside its
// strings, fail nothing on either database: the raw body is kept byte for
// byte, every value taken from it has U+FFFD in place of each NUL and each
// invalid sequence, and the incident opens and resolves as usual.
func TestNULAndInvalidUTF8AreRepaired(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		ctx := context.Background()
		st := storetest.Open(t, dialect)
		nul := func(status string) []byte {
			return []byte(`{"id":"ev\u0000-` + status + `","fingerprint":"fp\u0000","status":"` + status + `","severity":"high",` +
				`"service":"svc\u0000","alert_type":"type\u0000","title":"x\u0000y","description":"d\u0000",` +
				`"host":"h\u0000","environment":"e\u0000","url":"https://example.org/\u0000",` +
				`"labels":{"k\u0000":"v\u0000","ok":"\u0000"},"annotations":{"a\u0000":"\u0000"},"starts_at":"\u0000"}`)
		}
		body := nul("firing")
		id := storeRaw(t, st, body, map[string]string{"X-Note": "a\x00b", "X-Latin1": "caf\xe9"})
		drain(t, st)

		ev, err := st.GetEvent(ctx, id)
		require.NoError(t, err)
		require.Equal(t, store.EventProcessed, ev.Status, ev.Error)
		require.Equal(t, body, ev.Body, "the raw body is kept byte for byte")
		require.Equal(t, "a"+fffd+"b", ev.Headers.V["X-Note"])
		require.Equal(t, "caf"+fffd, ev.Headers.V["X-Latin1"])
		require.Len(t, ev.Alerts.V, 1)
		a := ev.Alerts.V[0]
		require.Equal(t, "fp"+fffd, a.Fingerprint)
		require.Equal(t, "x"+fffd+"y", a.Title)
		require.Equal(t, "svc"+fffd, a.Service)
		require.Equal(t, "h"+fffd, a.Host)
		require.Equal(t, "https://example.org/"+fffd, a.URL)
		require.Equal(t, map[string]string{"k" + fffd: "v" + fffd, "ok": fffd}, a.Labels)
		require.Equal(t, map[string]string{"a" + fffd: fffd}, a.Annotations)
		require.Len(t, ev.Warnings.V, 1, "the unreadable starts_at")
		require.Equal(t, fffd, ev.Warnings.V[0].Value)

		list, _, err := st.ListIncidents(ctx, store.IncidentFilter{})
		require.NoError(t, err)
		require.Len(t, list, 1)
		inc := list[0]
		require.Equal(t, "svc"+fffd+"/type"+fffd, inc.CorrelationKey)
		require.Equal(t, "x"+fffd+"y", inc.Title)
		require.Equal(t, []string{"h" + fffd}, inc.Hosts)
		tl, _, err := st.Timeline(ctx, inc.ID, 0, 100)
		require.NoError(t, err)
		require.Equal(t, "fp"+fffd, tl[0].Fingerprint)

		// The resolve, NULs and all, finds its member: repair is the same
		// every time.
		resolve := storeRaw(t, st, nul("resolved"), nil)
		drain(t, st)
		ev, err = st.GetEvent(ctx, resolve)
		require.NoError(t, err)
		require.Equal(t, store.EventProcessed, ev.Status, ev.Error)
		got, members, err := st.GetIncident(ctx, inc.ID)
		require.NoError(t, err)
		require.Equal(t, incidenthub.IncidentResolved, got.Status)
		require.Len(t, members, 1)

		// Invalid UTF-8 inside a JSON string (json.Valid accepts it).
		latin1 := []byte("{\"status\":\"firing\",\"alert_type\":\"t\xff\",\"title\":\"caf\xe9\",\"labels\":{\"\xfe\":\"x\"}}")
		id = storeRaw(t, st, latin1, nil)
		drain(t, st)
		ev, err = st.GetEvent(ctx, id)
		require.NoError(t, err)
		require.Equal(t, store.EventProcessed, ev.Status, ev.Error)
		require.Equal(t, latin1, ev.Body)
		require.Equal(t, "caf"+fffd, ev.Alerts.V[0].Title)
		require.Equal(t, "t"+fffd, ev.Alerts.V[0].AlertType)
		require.Equal(t, map[string]string{fffd: "x"}, ev.Alerts.V[0].Labels)

		// An unmapped event's reason quotes the payload's path, NUL and all.
		id = storeRaw(t, st, []byte(`{"status":"firing","alert_type":"a","labels":{"k\u0000":{"x":1}}}`), nil)
		drain(t, st)
		ev, err = st.GetEvent(ctx, id)
		require.NoError(t, err)
		require.Equal(t, store.EventUnmapped, ev.Status)
		require.Equal(t, "labels.k"+fffd+": expected a string, got object", ev.Error)

		n, err := st.CountEvents(ctx, store.EventFailed)
		require.NoError(t, err)
		require.Zero(t, n)
		n, err = st.CountEvents(ctx, store.EventPending)
		require.NoError(t, err)
		require.Zero(t, n, "every event was processed on its first attempt")
	})
}
