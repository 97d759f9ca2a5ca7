package web

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/connectors/slack"
	"github.com/incidenthub/incidenthub/correlation"
	"github.com/incidenthub/incidenthub/internal/config"
	"github.com/incidenthub/incidenthub/internal/hold"
	"github.com/incidenthub/incidenthub/internal/silence"
	"github.com/incidenthub/incidenthub/internal/store"
)

// SlackSilenceFor is how long the Silence button silences.
const SlackSilenceFor = time.Hour

// slackSilenceSlack: an incident already silenced until at least this
// long before the button's full hour counts as silenced.
const slackSilenceSlack = 5 * time.Minute

// maxMatcherValue is the longest matcher value internal/silence takes.
const maxMatcherValue = 1024

// maxSlackSilences bounds the silences one click makes (alerts of many
// sources under a custom correlation key); beyond, use the API.
const maxSlackSilences = 10

// slackSilence answers the Silence 1h button: runtime silences (package
// internal/silence) of the incident's alerts for SlackSilenceFor, by the
// Slack user, made in one transaction with the holds that put them on the
// incident's timeline and, when they end, notify once what is still
// firing. An incident whose alerts are already silenced that long answers
// with the silence in force; two clicks at once make one silence (the
// incident's row lock orders them).
func (s *server) slackSilence(ctx context.Context, cfg *config.Config, actor string, id int64, requestID string) string {
	var (
		made    []silence.Silence
		already *silence.Silence
	)
	err := s.Store.Tx(ctx, func(tx *gorm.DB) error {
		now := time.Now().UTC()
		var inc store.Incident
		err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Take(&inc, "id = ?", id).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return incidenthub.Errorf(incidenthub.ENOTFOUND, "incident %d not found", id)
		} else if err != nil {
			return err
		}
		if inc.Status == string(incidenthub.IncidentResolved) {
			return incidenthub.Errorf(incidenthub.ECONFLICT, "incident %d is resolved; there is nothing to silence", id)
		}
		var members []store.IncidentAlert
		if err := tx.Where("incident_id = ?", id).Order("id").Find(&members).Error; err != nil {
			return err
		}
		if len(members) == 0 {
			return incidenthub.Errorf(incidenthub.ECONFLICT, "incident %d has no alerts to silence", id)
		}
		set, err := silence.InForce(tx, now)
		if err != nil {
			return err
		}
		if already = coveredUntil(set, members, now.Add(SlackSilenceFor-slackSilenceSlack)); already != nil {
			return nil
		}
		specs, err := incidentMatchers(inc, members)
		if err != nil {
			return err
		}
		for _, m := range specs {
			sil, err := silence.Create(ctx, tx, silence.New{Matchers: m, Duration: SlackSilenceFor, CreatedBy: actor,
				Comment: fmt.Sprintf("Silence 1h from Slack on incident #%d (%s)", id, inc.Title)})
			if err != nil {
				return err
			}
			if _, err := hold.Add(tx, id, hold.Spec{Kind: hold.Silence, Ref: sil.ID, Reason: silence.HoldReason(sil)}, "", now); err != nil {
				return err
			}
			made = append(made, sil)
		}
		return nil
	})
	switch {
	case err != nil:
		return s.slackFailure(ctx, err, id, requestID)
	case already != nil:
		return fmt.Sprintf("Nothing changed: incident #%d's alerts are already silenced until %s by silence %s (%q, by %s).",
			id, already.EndsAt.UTC().Format("15:04 MST"), already.ID, already.Comment, slackName(already.CreatedBy))
	}
	var what []string
	for _, sil := range made {
		var ms []string
		for _, m := range sil.Matchers {
			ms = append(ms, m.String())
		}
		what = append(what, fmt.Sprintf("%s (`%s`)", sil.ID, slack.Escape(strings.Join(ms, " "))))
	}
	return fmt.Sprintf("Silenced incident #%d's alerts for 1h, until %s: silence %s. Their changes notify nobody until then; what is still firing then notifies once. Expire it early with `incidenthub silence expire ID`.",
		id, made[0].EndsAt.UTC().Format("15:04 MST"), strings.Join(what, ", "))
}

// slackName renders an actor for an answer: a Slack user as a mention.
func slackName(actor string) string {
	if id, _, ok := slack.UserOf(actor); ok {
		return "<@" + id + ">"
	}
	return slack.Escape(actor)
}

// coveredUntil returns a silence in force until at least until that
// matches every member alert, or nil.
func coveredUntil(set *silence.Set, members []store.IncidentAlert, until time.Time) *silence.Silence {
	var first *silence.Silence
	for i := range members {
		matched, _ := set.Match(members[i].Alert.V)
		var found *silence.Silence
		for j := range matched {
			if !matched[j].EndsAt.Before(until) {
				found = &matched[j]
				break
			}
		}
		if found == nil {
			return nil
		}
		if first == nil {
			first = found
		}
	}
	return first
}

// incidentMatchers are the matchers of the silences that hold the
// incident's alerts: when every member is keyed by the default
// correlation key (service/alert_type, or source/alert_type without a
// service) and that is the incident's key, the key's own fields, which
// also hold the alerts that join it later; otherwise the members
// themselves, by source and fingerprint.
func incidentMatchers(inc store.Incident, members []store.IncidentAlert) ([][]silence.Matcher, error) {
	byKey := true
	for i := range members {
		byKey = byKey && correlation.Key(members[i].Alert.V) == inc.CorrelationKey
	}
	if byKey {
		a := members[0].Alert.V
		if a.Service != "" {
			return [][]silence.Matcher{{{Name: "service", Op: silence.Equal, Value: a.Service}, {Name: "alert_type", Op: silence.Equal, Value: a.AlertType}}}, nil
		}
		return [][]silence.Matcher{{{Name: "source", Op: silence.Equal, Value: a.Source}, {Name: "alert_type", Op: silence.Equal, Value: a.AlertType}}}, nil
	}
	var (
		out     [][]silence.Matcher
		sources []string
		fps     = map[string][]string{}
	)
	for _, m := range members {
		if _, ok := fps[m.Source]; !ok {
			sources = append(sources, m.Source)
		}
		fps[m.Source] = append(fps[m.Source], regexp.QuoteMeta(m.Fingerprint))
	}
	for _, src := range sources {
		var chunk []string
		size := 0
		flush := func() {
			if len(chunk) == 0 {
				return
			}
			out = append(out, []silence.Matcher{{Name: "source", Op: silence.Equal, Value: src},
				{Name: "fingerprint", Op: silence.Regexp, Value: strings.Join(chunk, "|")}})
			chunk, size = nil, 0
		}
		for _, fp := range fps[src] {
			if size+len(fp)+1 > maxMatcherValue {
				flush()
			}
			chunk = append(chunk, fp)
			size += len(fp) + 1
		}
		flush()
	}
	if len(out) > maxSlackSilences {
		return nil, incidenthub.Errorf(incidenthub.ECONFLICT, "incident %d has too many alerts to silence from Slack (it would take %d silences); silence them by their labels with `incidenthub silence add`", inc.ID, len(out))
	}
	return out, nil
}
