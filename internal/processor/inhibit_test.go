package processor_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/correlation"
	"github.com/incidenthub/incidenthub/internal/hold"
	"github.com/incidenthub/incidenthub/internal/processor"
	"github.com/incidenthub/incidenthub/internal/store"
	"github.com/incidenthub/incidenthub/internal/storetest"
	"github.com/incidenthub/incidenthub/rules"
)

const inhibitConfig = `
sources:
  - {name: mon, kind: generic, auth: {type: none}}
routing:
  rules_dir: rules
  default: [pager]
`

const inhibitRules = `
inhibit_rules:
  - name: cluster-down
    source_match: ['alert_type="ClusterDown"']
    target_match: ['alert_type!="ClusterDown"']
    equal: [cluster]
  # core and edge alerts of a cluster: a core one mutes the edge ones; a
  # core alert matches both sides, so it never mutes itself or another core.
  - name: core-over-edge
    source_match: {labels.tier: core}
    target_match_re: {labels.tier: core|edge}
    equal: [cluster]
`

// recorder is the delivery side as the processor sees it: every change it
// is told to notify.
type recorder struct {
	mu      sync.Mutex
	changes []correlation.Change
}

func (r *recorder) IncidentChanged(_ *gorm.DB, ch correlation.Change) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.changes = append(r.changes, ch)
	return nil
}

// take returns the fingerprints notified since the last take.
func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := []string{}
	for _, ch := range r.changes {
		who := ch.Fingerprint
		if who == "" {
			who = ch.Key // a hold's release names no alert
		}
		out = append(out, fmt.Sprintf("%s:%s", who, ch.Outcome))
	}
	r.changes = nil
	return out
}

type inhibitHarness struct {
	t   *testing.T
	st  *store.Store
	p   *processor.Processor
	rec *recorder
}

// loadRules loads a config whose rules directory holds text.
func loadRules(t *testing.T, text string) *rules.Engine {
	dir := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(dir, "rules"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "rules", "inhibit.yaml"), []byte(text), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "hub.yaml"), []byte(inhibitConfig), 0o644))
	_, eng, err := rules.Load(filepath.Join(dir, "hub.yaml"), func(string) string { return "" }, rules.WithTargets("pager"))
	require.NoError(t, err)
	return eng
}

func newInhibitHarness(t *testing.T, dialect string) *inhibitHarness {
	eng := loadRules(t, inhibitRules)
	require.Len(t, eng.InhibitRules(), 2)
	st := storetest.Open(t, dialect)
	p := processor.New(st, slog.New(slog.NewTextHandler(io.Discard, nil)), 1, time.Second)
	rec := &recorder{}
	p.Router, p.Notifier = eng, rec
	return &inhibitHarness{t: t, st: st, p: p, rec: rec}
}

type testAlert struct {
	fp, status, alertType, service, cluster, tier string
}

// send stores one generic event holding the alerts and processes it.
func (h *inhibitHarness) send(alerts ...testAlert) {
	h.t.Helper()
	var list []map[string]any
	for _, a := range alerts {
		labels := map[string]string{"cluster": a.cluster}
		if a.tier != "" {
			labels["tier"] = a.tier
		}
		list = append(list, map[string]any{"fingerprint": a.fp, "status": a.status, "severity": "critical",
			"service": a.service, "alert_type": a.alertType, "title": a.fp, "labels": labels})
	}
	body, err := json.Marshal(map[string]any{"alerts": list})
	require.NoError(h.t, err)
	id, _, err := h.st.InsertEvent(context.Background(), &store.Event{Source: "mon", Kind: "generic", ReceivedAt: time.Now().UTC(), Body: body,
		Headers: store.JSON[map[string]string]{V: map[string]string{}}})
	require.NoError(h.t, err)
	did, err := h.p.ProcessOne(context.Background())
	require.NoError(h.t, err)
	require.True(h.t, did)
	ev, err := h.st.GetEvent(context.Background(), id)
	require.NoError(h.t, err)
	require.Equal(h.t, store.EventProcessed, ev.Status, "%s", ev.Error)
}

// incident returns the unresolved (or latest) incident of a key.
func (h *inhibitHarness) incident(key string) incidenthub.Incident {
	h.t.Helper()
	list, _, err := h.st.ListIncidents(context.Background(), store.IncidentFilter{Key: key})
	require.NoError(h.t, err)
	require.NotEmpty(h.t, list, "incident for %s", key)
	return list[0]
}

func (h *inhibitHarness) timeline(id int64, kind string) []incidenthub.TimelineEntry {
	h.t.Helper()
	all, _, err := h.st.Timeline(context.Background(), id, 0, 1000)
	require.NoError(h.t, err)
	var out []incidenthub.TimelineEntry
	for _, e := range all {
		if e.Kind == kind {
			out = append(out, e)
		}
	}
	return out
}

// A cluster-down parent mutes its cluster's other alerts: they correlate
// into their incidents as always, notify nobody and say on the timeline
// which incident and rule inhibited them. Another cluster's alerts notify;
// so do the parent's own and, once the parent resolves, new alerts.
func TestInhibitCluster(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		h := newInhibitHarness(t, dialect)
		h.send(testAlert{fp: "eu1-down", status: "firing", alertType: "ClusterDown", service: "k8s", cluster: "eu-1"})
		require.Equal(t, []string{"eu1-down:opened"}, h.rec.take())
		parent := h.incident("k8s/ClusterDown")

		// 50 children across five services, in five payloads.
		for b := range 5 {
			var batch []testAlert
			for i := range 10 {
				batch = append(batch, testAlert{fp: fmt.Sprintf("pod-%d-%d", b, i), status: "firing", alertType: "PodCrash",
					service: fmt.Sprintf("svc-%d", b), cluster: "eu-1"})
			}
			h.send(batch...)
		}
		require.Equal(t, []string{}, h.rec.take(), "the children notify nobody")
		for b := range 5 {
			inc := h.incident(fmt.Sprintf("svc-%d/PodCrash", b))
			require.Equal(t, 10, inc.AlertCount, "the children correlate as always")
			entries := h.timeline(inc.ID, incidenthub.TimelineInhibited)
			require.Len(t, entries, 10)
			require.Equal(t, fmt.Sprintf("inhibited by incident #%d (rule cluster-down)", parent.ID), entries[0].Reason)
			require.EqualValues(t, parent.ID, entries[0].Details["inhibited_by"])
			require.Equal(t, "cluster-down", entries[0].Details["rule"])
		}

		// equal: [cluster] differs: not inhibited.
		h.send(testAlert{fp: "us1-pod", status: "firing", alertType: "PodCrash", service: "us-svc", cluster: "us-1"})
		require.Equal(t, []string{"us1-pod:opened"}, h.rec.take())

		// A repeat of a child is still muted, and adds no timeline entry.
		h.send(testAlert{fp: "pod-0-0", status: "firing", alertType: "PodCrash", service: "svc-0", cluster: "eu-1"})
		require.Equal(t, []string{}, h.rec.take())
		require.Len(t, h.timeline(h.incident("svc-0/PodCrash").ID, incidenthub.TimelineInhibited), 10)

		// svc-4's children resolve while muted: its incident resolves,
		// notifying nobody.
		var resolved []testAlert
		for i := range 10 {
			resolved = append(resolved, testAlert{fp: fmt.Sprintf("pod-4-%d", i), status: "resolved", alertType: "PodCrash", service: "svc-4", cluster: "eu-1"})
		}
		h.send(resolved...)
		require.Equal(t, []string{}, h.rec.take())
		require.Equal(t, incidenthub.IncidentResolved, h.incident("svc-4/PodCrash").Status)

		// Each child incident is held by the parent, once.
		for b := range 5 {
			held := h.timeline(h.incident(fmt.Sprintf("svc-%d/PodCrash", b)).ID, hold.TimelineHeld)
			require.Len(t, held, 1)
			require.Equal(t, fmt.Sprintf("inhibited by incident #%d (rule cluster-down)", parent.ID), held[0].Reason)
		}
		rel := hold.NewReleaser(h.st, h.rec, nil)
		rel.Register(hold.Inhibit, processor.InhibitEnded)
		n, err := rel.Release(context.Background(), time.Now().UTC())
		require.NoError(t, err)
		require.Zero(t, n, "nothing is released while the parent fires")

		// The parent resolves: it notifies, and the holds end: each child
		// incident still firing notifies once; svc-4's, resolved unseen,
		// stays quiet.
		h.send(testAlert{fp: "eu1-down", status: "resolved", alertType: "ClusterDown", service: "k8s", cluster: "eu-1"})
		require.Equal(t, []string{"eu1-down:resolved"}, h.rec.take())
		n, err = rel.Release(context.Background(), time.Now().UTC().Add(time.Second))
		require.NoError(t, err)
		require.Equal(t, 4, n)
		require.ElementsMatch(t, []string{"svc-0/PodCrash:released", "svc-1/PodCrash:released", "svc-2/PodCrash:released", "svc-3/PodCrash:released"}, h.rec.take())
		n, err = rel.Release(context.Background(), time.Now().UTC().Add(2*time.Second))
		require.NoError(t, err)
		require.Zero(t, n, "released once")

		// A new child is no longer muted.
		h.send(testAlert{fp: "late-pod", status: "firing", alertType: "PodCrash", service: "late", cluster: "eu-1"})
		require.Equal(t, []string{"late-pod:opened"}, h.rec.take())

		var rows int64
		require.NoError(t, h.st.DB.Table("inhibit_sources").Count(&rows).Error)
		require.Zero(t, rows, "a resolved source is forgotten")
	})
}

// A parent in the same payload as its children inhibits them, wherever it
// stands in the payload.
func TestInhibitSameEvent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		h := newInhibitHarness(t, dialect)
		h.send(
			testAlert{fp: "a-pod", status: "firing", alertType: "PodCrash", service: "a", cluster: "eu-2"},
			testAlert{fp: "eu2-down", status: "firing", alertType: "ClusterDown", service: "k8s", cluster: "eu-2"},
			testAlert{fp: "z-pod", status: "firing", alertType: "PodCrash", service: "z", cluster: "eu-2"},
			testAlert{fp: "other-pod", status: "firing", alertType: "PodCrash", service: "o", cluster: "eu-3"},
		)
		require.ElementsMatch(t, []string{"eu2-down:opened", "other-pod:opened"}, h.rec.take())
		parent := h.incident("k8s/ClusterDown")
		for _, key := range []string{"a/PodCrash", "z/PodCrash"} {
			e := h.timeline(h.incident(key).ID, incidenthub.TimelineInhibited)
			require.Len(t, e, 1, key)
			require.Equal(t, fmt.Sprintf("inhibited by incident #%d (rule cluster-down)", parent.ID), e[0].Reason)
		}
	})
}

// An alert matching both sides of a rule does not inhibit itself nor
// another alert matching both (Alertmanager's rule); it does inhibit one
// matching the target side only.
func TestInhibitTwoSided(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		h := newInhibitHarness(t, dialect)
		h.send(testAlert{fp: "core-1", status: "firing", alertType: "Latency", service: "core-a", cluster: "c", tier: "core"})
		require.Equal(t, []string{"core-1:opened"}, h.rec.take(), "not inhibited by itself")
		h.send(testAlert{fp: "core-1", status: "firing", alertType: "Latency", service: "core-a", cluster: "c", tier: "core"},
			testAlert{fp: "core-2", status: "firing", alertType: "Latency", service: "core-b", cluster: "c", tier: "core"})
		require.Equal(t, []string{"core-2:opened"}, h.rec.take(), "core alerts do not inhibit each other")
		h.send(testAlert{fp: "edge-1", status: "firing", alertType: "Latency", service: "edge", cluster: "c", tier: "edge"})
		require.Equal(t, []string{}, h.rec.take(), "an edge alert is inhibited by a core one")
		e := h.timeline(h.incident("edge/Latency").ID, incidenthub.TimelineInhibited)
		require.Len(t, e, 1)
		require.Contains(t, e[0].Reason, "(rule core-over-edge)")
	})
}

// A rule loaded while its source already fires inhibits at once, once the
// firing sources are recorded (as the hub does at start and on reload); a
// changed rule does not inhibit through what its old form recorded.
func TestInhibitRecordsFiringSources(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		h := newInhibitHarness(t, dialect)
		withRules := h.p.Router.(*rules.Engine)
		h.p.Router = loadRules(t, "rules: []\n")
		h.send(testAlert{fp: "eu1-down", status: "firing", alertType: "ClusterDown", service: "k8s", cluster: "eu-1"},
			testAlert{fp: "edge-1", status: "firing", alertType: "Latency", service: "edge", cluster: "eu-1", tier: "core"})
		require.Len(t, h.rec.take(), 2)

		h.p.Router = withRules // a reload adds the inhibit rules
		h.send(testAlert{fp: "pod-1", status: "firing", alertType: "PodCrash", service: "a", cluster: "eu-1"})
		require.Equal(t, []string{"pod-1:opened"}, h.rec.take(), "the parent fired before the rule: not known yet")

		n, err := processor.RecordInhibitSources(context.Background(), h.st, withRules)
		require.NoError(t, err)
		require.Equal(t, 2, n, "the parent (cluster-down) and the core alert (core-over-edge)")
		h.send(testAlert{fp: "pod-2", status: "firing", alertType: "PodCrash", service: "b", cluster: "eu-1"})
		require.Equal(t, []string{}, h.rec.take(), "inhibited by the recorded parent")
		n, err = processor.RecordInhibitSources(context.Background(), h.st, withRules)
		require.NoError(t, err)
		require.Equal(t, 2, n, "idempotent")
		var rows int64
		require.NoError(t, h.st.DB.Table("inhibit_sources").Count(&rows).Error)
		require.EqualValues(t, 2, rows)

		// The rule changes (its equal list): what its old form recorded
		// does not count.
		h.p.Router = loadRules(t, strings.Replace(inhibitRules, "equal: [cluster]\n  # core", "equal: [cluster, environment]\n  # core", 1))
		h.send(testAlert{fp: "pod-3", status: "firing", alertType: "PodCrash", service: "c", cluster: "eu-1"})
		require.Equal(t, []string{"pod-3:opened"}, h.rec.take())
	})
}
