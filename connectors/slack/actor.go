package slack

import (
	"regexp"
	"strings"
)

// ActorPrefix starts the hub actor of a Slack user.
const ActorPrefix = "slack:"

// Actor is the hub actor recorded when Slack user id (named name) acts:
// "slack:U0123ABCDEF (alice)". The timeline, the audit trail and the
// incident's acknowledged_by and resolved_by carry it; the Slack message
// turns it back into a mention of the user.
func Actor(id, name string) string {
	name = strings.TrimSpace(name)
	if name == "" || name == id {
		return ActorPrefix + id
	}
	return ActorPrefix + id + " (" + name + ")"
}

var actorRe = regexp.MustCompile(`^slack:([UW][A-Z0-9]+)(?: \((.*)\))?$`)

// UserOf returns the Slack user id and name of an actor made by Actor.
func UserOf(actor string) (id, name string, ok bool) {
	m := actorRe.FindStringSubmatch(actor)
	if m == nil {
		return "", "", false
	}
	return m[1], m[2], true
}

// mention renders an actor in a message: a Slack user as a mention
// (<@U…>, which Slack shows as the user's current name), anyone else by
// name, escaped for mrkdwn.
func mention(actor string) string {
	if id, _, ok := UserOf(actor); ok {
		return "<@" + id + ">"
	}
	return Escape(actor)
}

var escaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// Escape makes text safe inside mrkdwn: Slack reads <…> as links and
// mentions, so &, < and > are written as entities.
func Escape(text string) string { return escaper.Replace(text) }
