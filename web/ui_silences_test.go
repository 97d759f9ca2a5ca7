package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub/internal/audit"
	"github.com/incidenthub/incidenthub/internal/processor"
	"github.com/incidenthub/incidenthub/internal/silence"
	"github.com/incidenthub/incidenthub/internal/storetest"
)

var silenceRowID = regexp.MustCompile(`data-silence="([^"]+)"`)

func silenceRows(p page) []string {
	var out []string
	for _, m := range silenceRowID.FindAllStringSubmatch(p.Body, -1) {
		out = append(out, m[1])
	}
	return out
}

// TestUISilences: an operator creates a silence from the form (a mistake
// shows the form again, filled in, naming the field), sees it under
// Active with the incidents it holds back, extends and expires it; a
// viewer sees the list but no form or button and cannot post; every
// change is audited as the signed-in person.
func TestUISilences(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dialect string) {
		u := newUIHub(t, dialect)
		op := u.browser(t)
		require.Equal(t, http.StatusSeeOther, op.signIn(uiOperatorToken, "").StatusCode)

		empty := op.get("/ui/silences")
		require.Equal(t, http.StatusOK, empty.StatusCode, empty.Body)
		require.Contains(t, empty.Body, "No active silences.")
		require.Contains(t, empty.Body, `action="/ui/silences"`)
		require.Contains(t, empty.Body, `aria-current="page">Active`)
		csrf := formCSRF(t, empty, "/ui/silences")

		// A bad regular expression: 422, the form filled in as typed.
		bad := op.post("/ui/silences", url.Values{"csrf": {csrf}, "matchers": {"service=checkout\nalertname=~5xx("},
			"duration": {"2h"}, "comment": {"deploy CHG-42"}})
		require.Equal(t, http.StatusUnprocessableEntity, bad.StatusCode, bad.Body)
		require.Contains(t, bad.Body, `matchers[1].value: &#34;5xx(&#34; is not a valid regular expression`)
		require.Contains(t, bad.Body, ">service=checkout\nalertname=~5xx(</textarea>")
		require.Contains(t, bad.Body, `value="deploy CHG-42"`)
		require.Regexp(t, `<details class="card silence-new" id="new" open>`, bad.Body)
		require.Regexp(t, `id="s-matchers"[^>]*aria-invalid="true"`, bad.Body)
		noWhy := op.post("/ui/silences", url.Values{"csrf": {csrf}, "matchers": {"service=checkout"}, "duration": {"2h"}})
		require.Equal(t, http.StatusUnprocessableEntity, noWhy.StatusCode)
		require.Regexp(t, `id="s-comment"[^>]*aria-invalid="true"`, noWhy.Body)
		require.Equal(t, http.StatusBadRequest, op.post("/ui/silences", url.Values{"csrf": {csrf}, "matchers": {"service=x"},
			"duration": {"two hours"}, "comment": {"c"}}).StatusCode)
		require.Empty(t, silenceRows(op.get("/ui/silences?state=all")))

		// Without the CSRF token nothing happens.
		require.Equal(t, http.StatusForbidden, op.post("/ui/silences", url.Values{"matchers": {"service=checkout"},
			"duration": {"2h"}, "comment": {"c"}}).StatusCode)

		made := op.post("/ui/silences", url.Values{"csrf": {csrf}, "matchers": {"service=checkout\n alertname=~5xx.* \n"},
			"duration": {"2h"}, "comment": {"deploy CHG-42"}})
		require.Equal(t, http.StatusSeeOther, made.StatusCode, made.Body)
		require.Equal(t, "/ui/silences?state=active", made.Header.Get("Location"))
		list := op.get(made.Header.Get("Location"))
		require.Contains(t, list.Body, "created: service=checkout alertname=~5xx.* until")
		ids := silenceRows(list)
		require.Len(t, ids, 1)
		id := ids[0]
		require.Contains(t, list.Body, `<code class="matcher">service=checkout</code>`)
		require.Contains(t, list.Body, `<code class="matcher">alertname=~5xx.*</code>`)
		require.Contains(t, list.Body, "by alice")
		require.Contains(t, list.Body, `data-count="active">1</span>`)
		require.Contains(t, list.Body, `action="/ui/silences/`+id+`/expire"`)

		// An alert it matches is held back: the list says so.
		body, err := json.Marshal(map[string]any{"alerts": []map[string]any{alert("web-1", "checkout", "http_5xx", "critical", "5xx")}})
		require.NoError(t, err)
		requireAccepted(t, u.post("gen", body))
		p := processor.New(u.st, u.log, 1, time.Second)
		p.Silencer = silence.Silencer{}
		for {
			did, err := p.ProcessOne(context.Background())
			require.NoError(t, err)
			if !did {
				break
			}
		}
		// The alert's alertname label is absent: "5xx.*" does not match "".
		require.Contains(t, op.get("/ui/silences").Body, `<span class="muted">—</span></td>`)
		withLabel := map[string]any{"fingerprint": "web-2", "status": "firing", "service": "checkout", "alert_type": "x",
			"severity": "high", "title": "t", "labels": map[string]string{"alertname": "5xx-rate"}}
		body, err = json.Marshal(map[string]any{"alerts": []map[string]any{withLabel}})
		require.NoError(t, err)
		requireAccepted(t, u.post("gen", body))
		for {
			did, err := p.ProcessOne(context.Background())
			require.NoError(t, err)
			if !did {
				break
			}
		}
		require.Contains(t, op.get("/ui/silences").Body, "1 incident")

		// Extend by 4h, then expire.
		ext := op.post("/ui/silences/"+id+"/extend", url.Values{"csrf": {csrf}, "extend_by": {"4h"}, "state": {"active"}})
		require.Equal(t, http.StatusSeeOther, ext.StatusCode, ext.Body)
		require.Contains(t, op.get(ext.Header.Get("Location")).Body, "now ends")
		sil, err := silence.Get(context.Background(), u.st.DB, id)
		require.NoError(t, err)
		require.WithinDuration(t, time.Now().Add(6*time.Hour), sil.EndsAt, time.Minute)
		exp := op.post("/ui/silences/"+id+"/expire", url.Values{"csrf": {csrf}, "state": {"active"}})
		require.Equal(t, http.StatusSeeOther, exp.StatusCode, exp.Body)
		after := op.get(exp.Header.Get("Location"))
		require.Contains(t, after.Body, "expired: what it held back and still fires notifies once")
		require.Empty(t, silenceRows(after))
		expired := op.get("/ui/silences?state=expired")
		require.Equal(t, []string{id}, silenceRows(expired))
		require.Contains(t, expired.Body, "expired by alice")
		require.NotContains(t, expired.Body, `action="/ui/silences/`+id+`/expire"`, "nothing to expire twice")
		again := op.post("/ui/silences/"+id+"/expire", url.Values{"csrf": {csrf}, "state": {"expired"}})
		require.Equal(t, http.StatusSeeOther, again.StatusCode)
		require.Contains(t, op.get(again.Header.Get("Location")).Body, "Could not expire the silence: silence "+id+" already expired")

		entries, _, err := audit.List(context.Background(), u.st.DB, audit.Filter{EntityType: "silence", Entity: id})
		require.NoError(t, err)
		var trail []string
		for _, e := range entries {
			trail = append(trail, e.Action+" by "+e.Actor)
		}
		require.Equal(t, []string{"silence.expire by alice", "silence.extend by alice", "silence.create by alice"}, trail)

		// A link from elsewhere prefills the form.
		pre := op.get("/ui/silences?matcher=" + url.QueryEscape("service=billing") + "&matcher=" + url.QueryEscape("alert_type=disk_full"))
		require.Contains(t, pre.Body, ">service=billing\nalert_type=disk_full</textarea>")
		require.Contains(t, pre.Body, `id="new" open`)
		require.Equal(t, http.StatusBadRequest, op.get("/ui/silences?state=gone").StatusCode)

		// A viewer reads, and cannot act.
		viewer := u.browser(t)
		require.Equal(t, http.StatusSeeOther, viewer.signIn(uiViewerToken, "").StatusCode)
		vp := viewer.get("/ui/silences?state=expired")
		require.Equal(t, http.StatusOK, vp.StatusCode)
		require.Equal(t, []string{id}, silenceRows(vp))
		require.NotContains(t, vp.Body, `action="/ui/silences"`)
		require.NotContains(t, vp.Body, "/extend")
		require.Equal(t, http.StatusForbidden, viewer.post("/ui/silences", url.Values{"csrf": {vp.csrf(t)}, "matchers": {"service=x"},
			"duration": {"1h"}, "comment": {"c"}}).StatusCode)

		op.requireNoSecrets(uiSecrets...)
		viewer.requireNoSecrets(uiSecrets...)
	})
}
