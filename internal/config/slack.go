package config

import (
	"fmt"
	"regexp"
)

// Slack interactivity defaults and names.
const (
	// DefaultSlackCommand is slack.command when unset.
	DefaultSlackCommand = "/incident"
	// SlackRegistryName is the registry entry (direction inbound) of the
	// Slack app's signing secret; no source may take the name.
	SlackRegistryName = "slack-app"
	// AuthSlack is that entry's auth method: Slack's v0 request signature.
	AuthSlack = "slack"
)

// What any member of a channel the hub posts to may do from Slack
// (slack.channel_members), beyond what slack.users grants.
const (
	ChannelMembersNone        = "none"
	ChannelMembersViewer      = "viewer"      // status
	ChannelMembersAcknowledge = "acknowledge" // status and acknowledge
	ChannelMembersOperator    = "operator"    // every action
)

// Slack configures the hub's Slack app for interactivity: the buttons on
// incident messages and the slash command, both answered at
// POST /slack/interactions. Setting SigningSecret turns it on.
type Slack struct {
	// SigningSecret is the app's signing secret (api.slack.com/apps → the
	// app → Basic Information → App Credentials). The registry holds it as
	// entry slack-app and can rotate to a new one with an overlap.
	SigningSecret Secret `yaml:"signing_secret"`
	// Command is the slash command's name as created in the app.
	Command string `yaml:"command"`
	// Users maps Slack users to hub actors and roles: viewer (status),
	// operator and admin (acknowledge, resolve, reopen, silence).
	Users []SlackUser `yaml:"users"`
	// ChannelMembers is what any member of a channel a slack target posts
	// to may do (none, viewer, acknowledge, operator), checked with
	// conversations.members.
	ChannelMembers string `yaml:"channel_members"`
	// Owner and Description describe the registry entry.
	Owner       Owner  `yaml:"owner"`
	Description string `yaml:"description"`
}

// SlackUser is one Slack user the hub knows.
type SlackUser struct {
	// ID is the Slack member id (U… or W…; the profile's "Copy member ID").
	ID string `yaml:"id"`
	// Name is the actor name the hub records (default: the Slack handle).
	Name string `yaml:"name"`
	Role string `yaml:"role"`
}

// Enabled reports whether the hub answers Slack interactions.
func (s Slack) Enabled() bool { return s.SigningSecret != "" }

// User returns the configured Slack user with member id id.
func (s Slack) User(id string) (SlackUser, bool) {
	for _, u := range s.Users {
		if u.ID == id {
			return u, true
		}
	}
	return SlackUser{}, false
}

var (
	slackUserRe    = regexp.MustCompile(`^[UW][A-Z0-9]{2,20}$`)
	slackCommandRe = regexp.MustCompile(`^/[a-z0-9_-]{1,31}$`)
)

func (c *Config) applySlackDefaults() {
	if c.Slack.Command == "" {
		c.Slack.Command = DefaultSlackCommand
	}
	if c.Slack.ChannelMembers == "" {
		c.Slack.ChannelMembers = ChannelMembersNone
	}
	for i := range c.Targets {
		if c.Targets[i].Type == TargetSlack {
			c.Targets[i].Interactive = c.Slack.Enabled()
		}
	}
}

func (c *Config) validateSlack(d *document) {
	s := &c.Slack
	if _, set := d.pos["slack"]; !set {
		return
	}
	if !s.Enabled() {
		d.at("slack.signing_secret", "required: the Slack app's signing secret (api.slack.com/apps → the app → Basic Information → App Credentials), e.g. \"${SLACK_SIGNING_SECRET}\"")
	}
	if !slackCommandRe.MatchString(s.Command) {
		d.at("slack.command", "%q must be a slash command: / and up to 31 lowercase letters, digits, - or _", s.Command)
	}
	seen := map[string]bool{}
	for i, u := range s.Users {
		p := fmt.Sprintf("slack.users[%d]", i)
		switch {
		case u.ID == "":
			d.at(p+".id", "required: the user's Slack member id (U…; in Slack, the profile's ⋮ → Copy member ID)")
		case !slackUserRe.MatchString(u.ID):
			d.at(p+".id", "%q is not a Slack member id (U or W and capital letters and digits, e.g. U0123ABCDEF)", u.ID)
		case seen[u.ID]:
			d.at(p+".id", "duplicate Slack user %s", u.ID)
		}
		seen[u.ID] = true
		switch u.Role {
		case RoleViewer, RoleOperator, RoleAdmin:
		default:
			d.at(p+".role", "must be one of viewer, operator, admin (got %q)", u.Role)
		}
	}
	channels := 0
	for _, t := range c.Targets {
		if t.Type == TargetSlack {
			channels++
		}
	}
	switch s.ChannelMembers {
	case ChannelMembersNone:
		if len(s.Users) == 0 && s.Enabled() {
			d.at("slack.users", "nobody may act from Slack: list users here with their roles, or set slack.channel_members")
		}
	case ChannelMembersViewer, ChannelMembersAcknowledge, ChannelMembersOperator:
		if channels == 0 {
			d.at("slack.channel_members", "needs a target of type slack: its channel is the one whose members it grants")
		}
	default:
		d.at("slack.channel_members", "must be one of none, viewer, acknowledge, operator (got %q)", s.ChannelMembers)
	}
	if s.Enabled() {
		for i, src := range c.Sources {
			if src.Name == SlackRegistryName {
				d.at(fmt.Sprintf("sources[%d].name", i), "%q is the registry entry of the Slack app's signing secret (slack:); name the source otherwise", src.Name)
			}
		}
	}
}
