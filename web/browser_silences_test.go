package web_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub/internal/storetest"
)

// TestBrowserSilence: before maintenance on the card processor, an
// on-call engineer opens Silences, creates one for service=payments with
// a reason, and sees it under Active. An alert for payments arrives: its
// incident opens, and its timeline says the silence held it back, but
// Slack and Jira hear nothing. The engineer expires the silence: the
// still-firing incident reaches Slack and Jira, once each. From the
// incident, "Silence alerts like these…" opens the form filled in. A
// viewer sees the silences but no form and no button, and a forged POST
// is refused. Runs on SQLite and PostgreSQL.
func TestBrowserSilence(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test: skipped with -short")
	}
	chromiumPath(t)
	storetest.Each(t, func(t *testing.T, dialect string) {
		hub := startHub(t, dialect)
		b := newTab(t, hub.URL, 1280, 800)
		b.confirmDialogs()
		b.open("/ui/sign-in", "#token")
		b.signIn(bOperatorToken)

		b.open("/ui/silences", "nav.tabs")
		require.Contains(t, b.text("main"), "No active silences.")
		b.do(
			chromedp.Click(chromedp.CSS("details.silence-new summary")),
			chromedp.WaitVisible(chromedp.ID("s-matchers")),
			chromedp.SendKeys(chromedp.ID("s-matchers"), "service=payments"),
			chromedp.SendKeys(chromedp.ID("s-comment"), "Card processor maintenance, CHG-7"),
			chromedp.Click(chromedp.CSS(`form[action="/ui/silences"] button[type=submit]`)),
			chromedp.WaitVisible(chromedp.CSS(".flash-ok")),
		)
		require.Contains(t, b.text(".flash-ok"), "created: service=payments until")
		row := b.text("tr.silence-row")
		require.Contains(t, row, "service=payments")
		require.Contains(t, row, "active")
		require.Contains(t, row, "Card processor maintenance, CHG-7")
		require.Contains(t, row, "by alice")
		require.Equal(t, "1", b.text(`[data-count="active"]`))
		b.html()

		// The alert: correlated, held back, on the timeline.
		hub.hook(t, "alertmanager", amAlert("firing", "CardDeclines", "payments", "pay-1:9100", "critical",
			"Card declines above 20%", time.Now().UTC()))
		var list struct {
			Incidents []struct{ ID int64 } `json:"incidents"`
		}
		require.Eventually(t, func() bool {
			hub.api(t, "/api/v1/incidents?service=payments", &list)
			return len(list.Incidents) == 1
		}, 30*time.Second, 100*time.Millisecond)
		id := list.Incidents[0].ID
		b.open(fmt.Sprintf("/ui/incidents/%d", id), "#h-summary")
		b.waitFor(`document.querySelector(".timeline").innerText.includes("Card processor maintenance, CHG-7")`, 10*time.Second)
		require.Contains(t, b.text(".timeline"), "silenced by silence")
		b.open("/ui/silences", "tr.silence-row")
		require.Contains(t, b.text("tr.silence-row"), "1 incident")
		time.Sleep(1500 * time.Millisecond) // the releaser has run since; a leak would show now
		require.Empty(t, hub.Slack.TopLevel(), "Slack heard nothing while the silence holds")
		require.Empty(t, hub.Jira.Issues(), "nor Jira")

		// Expire it: the incident notifies, once.
		b.do(
			chromedp.Click(chromedp.CSS(`tr.silence-row form[action$="/expire"] button`)),
			chromedp.WaitVisible(chromedp.CSS(".flash-ok")),
		)
		require.Contains(t, b.text(".flash-ok"), "expired")
		require.Contains(t, b.text("main"), "No active silences.")
		require.Eventually(t, func() bool { return len(hub.Slack.TopLevel()) == 1 && len(hub.Jira.Issues()) == 1 },
			30*time.Second, 100*time.Millisecond, "the still-firing incident reaches its targets")
		time.Sleep(1500 * time.Millisecond)
		require.Len(t, hub.Slack.TopLevel(), 1)
		require.Len(t, hub.Jira.Issues(), 1)
		require.Contains(t, hub.Slack.TopLevel()[0].Text+fmt.Sprint(hub.Slack.TopLevel()[0].Blocks), "Card declines above 20%")
		b.open("/ui/silences?state=expired", "tr.silence-row")
		require.Contains(t, b.text("tr.silence-row"), "expired by alice")

		// From the incident, a silence like it is one click away.
		b.open(fmt.Sprintf("/ui/incidents/%d", id), "#h-summary")
		b.do(chromedp.Click(chromedp.CSS("a.silence-link")), chromedp.WaitVisible(chromedp.ID("s-matchers")))
		require.True(t, strings.HasPrefix(b.location(), "/ui/silences?matcher="), b.location())
		require.Equal(t, "service=payments\nalert_type=CardDeclines", eval[string](b, `document.getElementById("s-matchers").value`))
		b.html()

		// A viewer: the list, no form, no buttons; a forged POST refused.
		v := newTab(t, hub.URL, 1280, 800)
		v.open("/ui/sign-in", "#token")
		v.signIn(bViewerToken)
		v.open("/ui/silences?state=expired", "tr.silence-row")
		page := v.html()
		require.NotContains(t, page, `action="/ui/silences"`)
		require.Empty(t, eval[[]string](v, `[...document.querySelectorAll("main button")].map(b => b.innerText)`))
		forged := v.forgePOST(t, "/ui/silences", map[string]string{"matchers": "service=x", "duration": "1h", "comment": "mine"}, true)
		require.Equal(t, http.StatusForbidden, forged.Status)
		require.Contains(t, forged.Text, "needs the operator role")

		b.requireNoSecrets(hub.Secrets)
		v.requireNoSecrets(hub.Secrets)
		b.requireClean()
		v.requireClean()
	})
}
