package web_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/connectors/slack"
	"github.com/incidenthub/incidenthub/connectors/slack/slackfake"
	"github.com/incidenthub/incidenthub/correlation"
	"github.com/incidenthub/incidenthub/internal/app"
	"github.com/incidenthub/incidenthub/internal/audit"
	"github.com/incidenthub/incidenthub/internal/config"
	"github.com/incidenthub/incidenthub/internal/hold"
	"github.com/incidenthub/incidenthub/internal/keyring"
	"github.com/incidenthub/incidenthub/internal/registry"
	"github.com/incidenthub/incidenthub/internal/silence"
	"github.com/incidenthub/incidenthub/internal/store"
	"github.com/incidenthub/incidenthub/internal/storetest"
	"github.com/incidenthub/incidenthub/web"
)

// Secrets of the Slack tests.
const (
	slackBotToken      = "xoxb-slack-web-test-4d1f"
	slackSigningSecret = "8f742231b10e8888abcd99yyyzzz85a5"
	slackNewSecret     = "2c5e01f7aa93b4d6e8f0123456789abc"
)

const slackConfig = `
api:
  tokens:
    - {name: dashboard, token: "${VIEWER_TOKEN}", role: viewer}
sources:
  - {name: gen, kind: generic, auth: {type: none}}
routing:
  default: [ops-slack]
delivery:
  public_url: https://hub.example.com
targets:
  - {name: ops-slack, type: slack, token: "${SLACK_BOT_TOKEN}", channel: C0INCIDENTS, api_url: %q}
slack:
  signing_secret: "${SLACK_SIGNING_SECRET}"
  users:
    - {id: U0ALICE01, name: alice, role: operator}
    - {id: U0VIEWER1, name: vera, role: viewer}
  channel_members: acknowledge
`

// Slack users of the tests.
var (
	alice    = slackfake.User{ID: "U0ALICE01", Name: "alice.s"} // operator, named alice in the config
	vera     = slackfake.User{ID: "U0VIEWER1", Name: "vera"}    // viewer
	member   = slackfake.User{ID: "U0MEMBER1", Name: "max"}     // unlisted, in the channel
	stranger = slackfake.User{ID: "U0STRANGR", Name: "sam"}     // unlisted, not in the channel
)

// slackHub is a hub serving real HTTP with Slack interactivity, the
// registry and a fake Slack.
type slackHub struct {
	*hub
	url     string
	fake    *slackfake.Server
	cfg     *config.Config
	reg     *registry.Registry
	clock   *testClock
	changes *changeLog
	conn    *slack.Client
	// sent is the notification count, for ids.
	sent int
}

func newSlackHub(t *testing.T, dialect string) *slackHub {
	t.Helper()
	fake := slackfake.New(slackBotToken)
	t.Cleanup(fake.Close)
	fake.SetMembers("C0INCIDENTS", alice.ID, member.ID) // not vera: her role alone counts
	env := map[string]string{"VIEWER_TOKEN": viewerToken, "SLACK_BOT_TOKEN": slackBotToken, "SLACK_SIGNING_SECRET": slackSigningSecret}
	getenv := func(k string) string { return env[k] }
	cfg, err := config.Parse("test.yaml", []byte(fmt.Sprintf(slackConfig, fake.APIURL())), getenv)
	require.NoError(t, err)
	key := make([]byte, 32)
	_, err = rand.Read(key)
	require.NoError(t, err)
	keys, err := keyring.New(key)
	require.NoError(t, err)

	st := storetest.Open(t, dialect)
	h := &hub{t: t, st: st, logs: &lockedBuffer{}}
	h.log = slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	sh := &slackHub{hub: h, fake: fake, cfg: cfg, clock: &testClock{t: time.Now().UTC()}, changes: &changeLog{}}
	sh.reg = registry.New(registry.Options{Store: st, Keys: keys, Log: h.log, Now: sh.clock.Now, Metrics: prometheus.NewRegistry()})
	require.NoError(t, sh.reg.Sync(context.Background(), app.RegistrySpecs(cfg), audit.ActorConfig))
	target, _ := cfg.Target("ops-slack")
	sh.conn, err = slack.New(target.SlackConfig(cfg.Delivery), fake.Client())
	require.NoError(t, err)
	h.handler = web.New(web.Deps{
		Store: st, Config: func() *config.Config { return cfg }, Tokens: app.Tokens(cfg, getenv),
		Notifier: sh.changes, Log: h.log, Webhooks: sh.reg, SlackMembers: slack.NewMembers(sh.conn),
	})
	srv := httptest.NewServer(h.handler)
	t.Cleanup(srv.Close)
	sh.url = srv.URL + "/slack/interactions"
	return sh
}

// incident opens an incident from one alert and posts its Slack message,
// returning the incident id and the message.
func (h *slackHub) incident(fingerprint string) (int64, slackfake.Message) {
	t := h.t
	t.Helper()
	rec := h.post("gen", []byte(`{"fingerprint": "`+fingerprint+`", "status": "firing", "severity": "high", "service": "checkout", "alert_type": "latency", "title": "Checkout latency <p99>"}`))
	requireAccepted(t, rec)
	h.drain()
	var inc store.Incident
	require.NoError(t, h.st.DB.Where("title = ? AND status = ?", "Checkout latency <p99>", "open").Order("id DESC").Take(&inc).Error)
	return inc.ID, h.render(inc.ID, nil)
}

// render brings the incident's Slack message to its state, as the
// delivery engine does; ref is the message's (nil: a new one).
func (h *slackHub) render(id int64, ref map[string]string) slackfake.Message {
	t := h.t
	t.Helper()
	inc, err := h.st.Incident(context.Background(), id)
	require.NoError(t, err)
	h.sent++
	n := &incidenthub.Notification{ID: fmt.Sprintf("msg-%d", h.sent), Event: incidenthub.EventUpdated, Incident: *inc, Ref: ref}
	_, err = h.conn.Notify(context.Background(), n)
	require.NoError(t, err)
	m, ok := h.fake.Message(n.Ref[slack.RefTS])
	require.True(t, ok)
	return m
}

func (h *slackHub) refOf(m slackfake.Message) map[string]string {
	return map[string]string{slack.RefChannel: m.Channel, slack.RefTS: m.TS}
}

func (h *slackHub) click(u slackfake.User, m slackfake.Message, action string) *slackfake.Answer {
	h.t.Helper()
	a, err := h.fake.Click(h.url, slackSigningSecret, u, m, action)
	require.NoError(h.t, err)
	return a
}

func (h *slackHub) command(u slackfake.User, text string) (*slackfake.Answer, map[string]any) {
	h.t.Helper()
	a, err := h.fake.Command(h.url, slackSigningSecret, u, "C0INCIDENTS", "/incident", text)
	require.NoError(h.t, err)
	require.Equal(h.t, http.StatusOK, a.Status, "%s", a.Body)
	require.Equal(h.t, "application/json; charset=utf-8", a.Header.Get("Content-Type"))
	v, err := a.JSON()
	require.NoError(h.t, err, "%s", a.Body)
	require.Equal(h.t, "ephemeral", v["response_type"], "%s", a.Body)
	return a, v
}

// requireClickAnswer checks Slack's contract for a click: 200 with an
// empty body, well within 3 seconds.
func requireClickAnswer(t *testing.T, a *slackfake.Answer) {
	t.Helper()
	require.Equal(t, http.StatusOK, a.Status, "%s", a.Body)
	require.Empty(t, a.Body)
	require.Less(t, a.Elapsed, 3*time.Second)
}

// responses waits for n answers on response_urls and returns them.
func (h *slackHub) responses(n int) []slackfake.Response {
	h.t.Helper()
	require.Eventually(h.t, func() bool { return len(h.fake.Responses()) >= n }, 5*time.Second, 10*time.Millisecond)
	rs := h.fake.Responses()
	require.Len(h.t, rs, n)
	for _, r := range rs {
		require.Equal(h.t, "ephemeral", r.ResponseType, r.Raw)
		require.False(h.t, r.ReplaceOriginal, r.Raw)
		require.Equal(h.t, "application/json", r.ContentType)
	}
	return rs
}

func (h *slackHub) get(id int64) *incidenthub.Incident {
	inc, err := h.st.Incident(context.Background(), id)
	require.NoError(h.t, err)
	return inc
}

// A click acts as the API does, with the Slack user as the actor: once.
// A second click on the same (now stale) message changes nothing and
// tells only that user the current state.
func TestSlackClickActs(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		h := newSlackHub(t, dialect)
		id, msg := h.incident("fp-click")

		requireClickAnswer(t, h.click(alice, msg, slack.ActionAcknowledge))
		inc := h.get(id)
		require.Equal(t, incidenthub.IncidentAcknowledged, inc.Status)
		require.Equal(t, "slack:U0ALICE01 (alice)", inc.AcknowledgedBy, "the configured name")
		changes := h.changes.take()
		require.Len(t, changes, 1, "one change for the delivery queue")
		require.Equal(t, "slack:U0ALICE01 (alice)", changes[0].Actor)
		require.True(t, changes[0].Notify)
		entries, _, err := h.st.Timeline(context.Background(), id, 0, 100)
		require.NoError(t, err)
		require.Equal(t, incidenthub.TimelineAcknowledged, entries[len(entries)-1].Kind)
		require.Equal(t, "slack:U0ALICE01 (alice)", entries[len(entries)-1].Actor)
		acks, _, err := audit.List(context.Background(), h.st.DB, audit.Filter{Action: "incident.acknowledge"})
		require.NoError(t, err)
		require.Len(t, acks, 1)
		require.Equal(t, "slack:U0ALICE01 (alice)", acks[0].Actor)
		require.Empty(t, h.fake.Responses(), "a click that worked needs no answer: the message updates")

		// The same stale message again.
		requireClickAnswer(t, h.click(alice, msg, slack.ActionAcknowledge))
		require.Empty(t, h.changes.take())
		rs := h.responses(1)
		require.Contains(t, rs[0].Text, fmt.Sprintf("Nothing changed: incident %d is already acknowledged (by slack:U0ALICE01 (alice)", id))
		require.Contains(t, rs[0].Text, fmt.Sprintf("<https://hub.example.com/ui/incidents/%d|Incident #%d> Checkout latency &lt;p99&gt;: *acknowledged*", id, id))
		require.Contains(t, rs[0].Text, "Acknowledged by <@U0ALICE01>")
		require.Equal(t, alice.ID, rs[0].User)

		// Resolve from the updated message, then Reopen.
		msg = h.render(id, h.refOf(msg))
		requireClickAnswer(t, h.click(alice, msg, slack.ActionResolve))
		inc = h.get(id)
		require.Equal(t, incidenthub.IncidentResolved, inc.Status)
		require.Equal(t, "slack:U0ALICE01 (alice)", inc.ResolvedBy)
		msg = h.render(id, h.refOf(msg))
		require.Contains(t, fmt.Sprint(msg.Blocks), "Resolved by <@U0ALICE01>")
		requireClickAnswer(t, h.click(alice, msg, slack.ActionReopen))
		require.Equal(t, incidenthub.IncidentOpen, h.get(id).Status)
		require.Len(t, h.changes.take(), 2)
		require.Len(t, h.fake.Responses(), 1, "no more answers")
	})
}

// Who may do what: slack.users roles, and what slack.channel_members
// grants the channel's members. A refusal changes nothing and says why,
// to that user alone.
func TestSlackRoles(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		h := newSlackHub(t, dialect)
		id, msg := h.incident("fp-roles")

		requireClickAnswer(t, h.click(vera, msg, slack.ActionResolve))
		requireClickAnswer(t, h.click(member, msg, slack.ActionResolve))
		requireClickAnswer(t, h.click(stranger, msg, slack.ActionAcknowledge))
		requireClickAnswer(t, h.click(member, msg, slack.ActionSilence))
		rs := h.responses(4)
		byUser := map[string]string{}
		for _, r := range rs {
			byUser[r.User+" "+r.For] = r.Text
		}
		require.Equal(t, "You may not resolve incidents from Slack: your role is viewer, and that needs operator. Nothing changed.",
			byUser[vera.ID+" "+slack.ActionResolve])
		require.Equal(t, "You may not resolve incidents from Slack: the hub does not know your Slack user U0MEMBER1. Ask a hub admin to add you to slack.users. Nothing changed.",
			byUser[member.ID+" "+slack.ActionResolve], "channel members may only acknowledge")
		require.Contains(t, byUser[stranger.ID+" "+slack.ActionAcknowledge], "does not know your Slack user U0STRANGR")
		require.Contains(t, byUser[member.ID+" "+slack.ActionSilence], "You may not silence incidents")
		require.Equal(t, incidenthub.IncidentOpen, h.get(id).Status)
		require.Empty(t, h.changes.take())
		refused, _, err := audit.List(context.Background(), h.st.DB, audit.Filter{Action: "slack.refused"})
		require.NoError(t, err)
		require.Len(t, refused, 4)

		// A channel member may acknowledge (slack.channel_members: acknowledge).
		requireClickAnswer(t, h.click(member, msg, slack.ActionAcknowledge))
		require.Equal(t, "slack:U0MEMBER1 (max)", h.get(id).AcknowledgedBy, "the Slack handle when the config names nobody")
		require.Len(t, h.responses(4), 4)

		// Membership counts only in the channels the hub posts to.
		a, v := h.commandIn(member, "C0ELSEWHERE", "ack "+strconv.FormatInt(id, 10))
		require.Equal(t, http.StatusOK, a.Status)
		require.Contains(t, v["text"], "members may act only in the channels the hub posts to")
	})
}

func (h *slackHub) commandIn(u slackfake.User, channel, text string) (*slackfake.Answer, map[string]any) {
	h.t.Helper()
	a, err := h.fake.Command(h.url, slackSigningSecret, u, channel, "/incident", text)
	require.NoError(h.t, err)
	v, err := a.JSON()
	require.NoError(h.t, err, "%s", a.Body)
	return a, v
}

// The slash command: ack, resolve, status and help, each answered in the
// 200 with an ephemeral message; problems are told, not failed.
func TestSlackCommand(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		h := newSlackHub(t, dialect)
		id, _ := h.incident("fp-command")
		sid := strconv.FormatInt(id, 10)
		doc := loadOpenAPI(t, h.handler)
		v := validator{t: t, doc: doc}
		check := func(a *slackfake.Answer) {
			rec := httptest.NewRecorder()
			for k, vs := range a.Header {
				rec.Header()[k] = vs
			}
			rec.WriteHeader(a.Status)
			_, _ = rec.Body.Write(a.Body)
			v.check(http.MethodPost, "/slack/interactions", httptest.NewRequest(http.MethodPost, "/slack/interactions", nil), rec, a.Status)
		}

		a, body := h.command(vera, "status "+sid)
		check(a)
		require.Contains(t, body["text"], fmt.Sprintf("Incident #%d> Checkout latency &lt;p99&gt;: *open*", id))
		require.Contains(t, body["text"], "Severity *high* · service checkout · 1 firing of 1 alerts")

		a, body = h.command(vera, "ack "+sid)
		check(a)
		require.Contains(t, body["text"], "You may not acknowledge incidents from Slack: your role is viewer")
		require.Equal(t, incidenthub.IncidentOpen, h.get(id).Status)

		_, body = h.command(alice, "ack #"+sid)
		require.Contains(t, body["text"], fmt.Sprintf("Done: you acknowledged incident #%d.", id))
		require.Contains(t, body["text"], "*acknowledged*")
		require.Equal(t, incidenthub.IncidentAcknowledged, h.get(id).Status)
		_, body = h.command(alice, "ack "+sid)
		require.Contains(t, body["text"], "Nothing changed: incident "+sid+" is already acknowledged")
		_, body = h.command(alice, "resolve "+sid)
		require.Contains(t, body["text"], "Done: you resolved")
		require.Equal(t, "slack:U0ALICE01 (alice)", h.get(id).ResolvedBy)
		require.Len(t, h.changes.take(), 2)

		_, body = h.command(vera, "silence "+sid)
		require.Contains(t, body["text"], "You may not silence incidents from Slack")
		_, body = h.command(alice, "silence "+sid)
		require.Contains(t, body["text"], "there is nothing to silence", "resolved by now")
		_, body = h.command(alice, "resolve 999999")
		require.Equal(t, "Incident #999999 does not exist; nothing changed.", body["text"])
		_, body = h.command(alice, "")
		require.Contains(t, body["text"], "`/incident ack <id>` acknowledges an incident")
		_, body = h.command(alice, "page bob")
		require.Contains(t, body["text"], `unknown command "page"`)
		_, body = h.command(alice, "ack")
		require.Contains(t, body["text"], "takes one incident id")
		require.Empty(t, h.changes.take())
		require.Empty(t, h.fake.Responses(), "commands answer in the 200")
	})
}

// A bad or stale signature is a 401 and changes nothing; so is the old
// secret once a rotation's overlap is over. During the overlap both
// secrets pass.
func TestSlackSignature(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		h := newSlackHub(t, dialect)
		id, msg := h.incident("fp-signature")
		form, err := h.fake.BlockActions(alice, msg, slack.ActionAcknowledge)
		require.NoError(t, err)
		body := []byte(form.Encode())
		doc := loadOpenAPI(t, h.handler)

		unauthorized := func(a *slackfake.Answer, words ...string) {
			t.Helper()
			rec := httptest.NewRecorder()
			for k, vs := range a.Header {
				rec.Header()[k] = vs
			}
			rec.WriteHeader(a.Status)
			_, _ = rec.Body.Write(a.Body)
			requireError(t, rec, http.StatusUnauthorized, incidenthub.EUNAUTHORIZED, words...)
			validator{t: t, doc: doc}.check(http.MethodPost, "/slack/interactions", httptest.NewRequest(http.MethodPost, "/slack/interactions", nil), rec, http.StatusUnauthorized)
		}
		post := func(secret string, at time.Time, body []byte) *slackfake.Answer {
			a, err := slackfake.Post(h.url, secret, at, body)
			require.NoError(t, err)
			return a
		}
		unauthorized(post("not-the-signing-secret", time.Now(), body), "does not match")
		unauthorized(post(slackSigningSecret, time.Now().Add(-6*time.Minute), body), "more than 5 minutes")
		unauthorized(post("", time.Now(), body), "missing X-Slack-Signature")
		// A signature of another body (the user changed on the way).
		tampered := []byte(strings.Replace(string(body), "U0ALICE01", "U0ALICE02", 1))
		req, err := http.NewRequest(http.MethodPost, h.url, strings.NewReader(string(tampered)))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		ts := time.Now().Unix()
		req.Header.Set("X-Slack-Request-Timestamp", strconv.FormatInt(ts, 10))
		req.Header.Set("X-Slack-Signature", slackfake.Sign(slackSigningSecret, ts, body))
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		unauthorized(&slackfake.Answer{Status: resp.StatusCode, Header: resp.Header, Body: b}, "does not match")
		require.Equal(t, incidenthub.IncidentOpen, h.get(id).Status, "nothing changed")
		require.Empty(t, h.changes.take())
		require.Empty(t, h.fake.Responses())
		require.NotContains(t, h.logs.String(), slackSigningSecret)

		// Slack regenerated the secret; the admin hands the new one over.
		overlap := time.Hour
		_, err = h.reg.RotateTo(context.Background(), "admin", registry.Inbound, config.SlackRegistryName, slackNewSecret, &overlap)
		require.NoError(t, err)
		form, _ = h.fake.BlockActions(alice, msg, slack.ActionAcknowledge)
		requireClickAnswer(t, post(slackNewSecret, time.Now(), []byte(form.Encode())))
		require.Equal(t, incidenthub.IncidentAcknowledged, h.get(id).Status)
		status := "status " + strconv.FormatInt(id, 10)
		a, err := h.fake.Command(h.url, slackSigningSecret, vera, "C0INCIDENTS", "/incident", status)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, a.Status, "the old secret during the overlap")
		h.clock.Add(overlap + time.Minute)
		a, err = h.fake.Command(h.url, slackSigningSecret, vera, "C0INCIDENTS", "/incident", status)
		require.NoError(t, err)
		unauthorized(a, "does not match")
		a, err = h.fake.Command(h.url, slackNewSecret, vera, "C0INCIDENTS", "/incident", status)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, a.Status)
	})
}

// Requests that are not Slack's, and a hub without interactivity.
func TestSlackEndpointErrors(t *testing.T) {
	t.Parallel()
	h := newSlackHub(t, store.SQLite)
	send := func(url, contentType, body string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodPost, url, strings.NewReader(body))
		r.Header.Set("Content-Type", contentType)
		ts := time.Now().Unix()
		r.Header.Set("X-Slack-Request-Timestamp", strconv.FormatInt(ts, 10))
		r.Header.Set("X-Slack-Signature", slackfake.Sign(slackSigningSecret, ts, []byte(body)))
		return h.do(r)
	}
	requireError(t, send("/slack/interactions", "application/json", `{"type":"block_actions"}`), http.StatusUnsupportedMediaType, incidenthub.EUNSUPPORTED, "application/x-www-form-urlencoded")
	requireError(t, send("/slack/interactions", "application/x-www-form-urlencoded", "a=b"), http.StatusBadRequest, incidenthub.EINVALID, "neither payload=")
	requireError(t, send("/slack/interactions", "application/x-www-form-urlencoded", "payload=%7Bnot-json"), http.StatusBadRequest, incidenthub.EINVALID)
	rec := send("/slack/interactions", "application/x-www-form-urlencoded", "payload="+`{"type":"shortcut","user":{"id":"U0ALICE01"}}`)
	require.Equal(t, http.StatusOK, rec.Code, "a payload type the hub offers nothing for")
	require.Empty(t, rec.Body.String())
	rec = send("/slack/interactions", "application/x-www-form-urlencoded", strings.Repeat("x", 1<<20+1))
	requireError(t, rec, http.StatusRequestEntityTooLarge, incidenthub.ETOOLARGE)

	bare := newHub(t, store.SQLite, baseConfig, testEnv)
	r := httptest.NewRequest(http.MethodPost, "/slack/interactions", strings.NewReader("payload=x"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	requireError(t, bare.do(r), http.StatusNotFound, incidenthub.ENOTFOUND, "slack.signing_secret")
}

// Silence 1h makes a runtime silence of the incident's alerts for an
// hour by the Slack user, on the incident's timeline; a second click finds
// it in force and makes none.
func TestSlackSilenceButton(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		h := newSlackHub(t, dialect)
		id, msg := h.incident("fp-silence")
		before := time.Now()
		requireClickAnswer(t, h.click(alice, msg, slack.ActionSilence))
		list, _, err := silence.List(context.Background(), h.st.DB, silence.Filter{State: silence.Active})
		require.NoError(t, err)
		require.Len(t, list, 1)
		sil := list[0]
		require.Equal(t, []silence.Matcher{{Name: "service", Op: silence.Equal, Value: "checkout"}, {Name: "alert_type", Op: silence.Equal, Value: "latency"}},
			sil.Matchers, "the incident's key: its alerts, and those that join it")
		require.Equal(t, "slack:U0ALICE01 (alice)", sil.CreatedBy)
		require.Contains(t, sil.Comment, fmt.Sprintf("incident #%d", id))
		require.WithinDuration(t, before.Add(time.Hour), sil.EndsAt, 5*time.Second)
		rs := h.responses(1)
		require.Contains(t, rs[0].Text, fmt.Sprintf("Silenced incident #%d's alerts for 1h", id))
		require.Contains(t, rs[0].Text, sil.ID)
		require.Contains(t, rs[0].Text, "`service=checkout alert_type=latency`")
		holds, err := hold.List(h.st.DB, id)
		require.NoError(t, err)
		require.Len(t, holds, 1)
		require.Equal(t, sil.ID, holds[0].Ref)
		entries, _, err := h.st.Timeline(context.Background(), id, 0, 100)
		require.NoError(t, err)
		require.Equal(t, hold.TimelineHeld, entries[len(entries)-1].Kind)
		require.Contains(t, entries[len(entries)-1].Reason, sil.ID)
		created, _, err := audit.List(context.Background(), h.st.DB, audit.Filter{Action: "silence.create"})
		require.NoError(t, err)
		require.Len(t, created, 1)
		require.Equal(t, "slack:U0ALICE01 (alice)", created[0].Actor)

		requireClickAnswer(t, h.click(alice, msg, slack.ActionSilence))
		rs = h.responses(2)
		require.Contains(t, rs[1].Text, fmt.Sprintf("Nothing changed: incident #%d's alerts are already silenced until", id))
		require.Contains(t, rs[1].Text, "by <@U0ALICE01>")
		list, _, err = silence.List(context.Background(), h.st.DB, silence.Filter{})
		require.NoError(t, err)
		require.Len(t, list, 1, "one silence")
		require.Equal(t, incidenthub.IncidentOpen, h.get(id).Status)
		require.Empty(t, h.changes.take(), "a silence changes no incident")
	})
}

// Under another key than the default (here: an alert split out into an
// incident of its own) the silence names the incident's alerts
// themselves, by source and fingerprint.
func TestSlackSilenceOtherKey(t *testing.T) {
	t.Parallel()
	h := newSlackHub(t, store.SQLite)
	id, _ := h.incident("disk.1")
	h.incident("cpu-2")
	var split []correlation.Change
	require.NoError(t, h.st.Tx(context.Background(), func(tx *gorm.DB) error {
		var err error
		split, err = correlation.SplitAlert(tx, id, "gen", "disk.1", correlation.Action{Actor: "test"})
		return err
	}))
	msg := h.render(split[0].IncidentID, nil)
	requireClickAnswer(t, h.click(alice, msg, slack.ActionSilence))
	list, _, err := silence.List(context.Background(), h.st.DB, silence.Filter{State: silence.Active})
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.Equal(t, []silence.Matcher{{Name: "source", Op: silence.Equal, Value: "gen"}, {Name: "fingerprint", Op: silence.Regexp, Value: `disk\.1`}}, list[0].Matchers)
	q, err := silence.Query(context.Background(), h.st.DB, incidenthub.Alert{Source: "gen", Fingerprint: "disk.1"}, time.Time{})
	require.NoError(t, err)
	require.Len(t, q, 1)
	for _, other := range []string{"diskx1", "cpu-2"} {
		q, err = silence.Query(context.Background(), h.st.DB, incidenthub.Alert{Source: "gen", Fingerprint: other}, time.Time{})
		require.NoError(t, err)
		require.Empty(t, q, "%s: only the incident's own alert; fingerprints are quoted, not patterns", other)
	}
}

// The answer leaves within Slack's 3 seconds even when the store cannot
// do the work in time (here: another transaction holds the incident's
// row): nothing changes and the user is told to try again.
func TestSlackAnswersInTime(t *testing.T) {
	t.Parallel()
	h := newSlackHub(t, store.Postgres)
	id, msg := h.incident("fp-slow")
	blocker := h.st.DB.Begin()
	require.NoError(t, blocker.Error)
	require.NoError(t, blocker.Exec("SELECT id FROM incidents WHERE id = ? FOR UPDATE", id).Error)
	a := h.click(alice, msg, slack.ActionAcknowledge)
	requireClickAnswer(t, a)
	rs := h.responses(1)
	require.Contains(t, rs[0].Text, "The hub could not do that right now (request id ")
	require.Contains(t, rs[0].Text, "nothing changed. Try again.")
	require.NoError(t, blocker.Rollback().Error)
	require.Equal(t, incidenthub.IncidentOpen, h.get(id).Status)
	require.Empty(t, h.changes.take())

	requireClickAnswer(t, h.click(alice, msg, slack.ActionAcknowledge))
	require.Equal(t, incidenthub.IncidentAcknowledged, h.get(id).Status, "the retry works")
}
