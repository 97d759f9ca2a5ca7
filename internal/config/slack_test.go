package config

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const slackTargets = `
targets:
  - {name: ops-slack, type: slack, token: xoxb-1, channel: C0INCIDENTS}
  - {name: hook, type: webhook, url: https://hooks.example.com/in}
`

func TestSlackInteractivity(t *testing.T) {
	t.Parallel()
	cfg, err := Parse("c.yaml", []byte(`
slack:
  signing_secret: ${SLACK_SIGNING_SECRET}
  users:
    - {id: U0ALICE01, name: alice, role: operator}
    - {id: W0BOB0001, role: viewer}
  channel_members: acknowledge
  owner: {name: sre, contact: "#sre"}
`+slackTargets), env(map[string]string{"SLACK_SIGNING_SECRET": "8f742231b10e8888abcd99yyyzzz85a5"}))
	require.NoError(t, err)
	s := cfg.Slack
	require.True(t, s.Enabled())
	require.Equal(t, "8f742231b10e8888abcd99yyyzzz85a5", s.SigningSecret.Value())
	require.Equal(t, DefaultSlackCommand, s.Command)
	require.Equal(t, ChannelMembersAcknowledge, s.ChannelMembers)
	u, ok := s.User("U0ALICE01")
	require.True(t, ok)
	require.Equal(t, SlackUser{ID: "U0ALICE01", Name: "alice", Role: RoleOperator}, u)
	_, ok = s.User("U0NOBODY1")
	require.False(t, ok)
	require.Equal(t, "sre", s.Owner.Name)
	slackTarget, _ := cfg.Target("ops-slack")
	require.True(t, slackTarget.SlackConfig(cfg.Delivery).Interactive, "its messages carry buttons")

	// Without a slack: block, no buttons.
	cfg, err = Parse("c.yaml", []byte(slackTargets), env(nil))
	require.NoError(t, err)
	require.False(t, cfg.Slack.Enabled())
	slackTarget, _ = cfg.Target("ops-slack")
	require.False(t, slackTarget.SlackConfig(cfg.Delivery).Interactive)
	require.Equal(t, ChannelMembersNone, cfg.Slack.ChannelMembers)
}

func TestSlackProblems(t *testing.T) {
	t.Parallel()
	cases := []struct{ name, yaml, want string }{
		{"no secret", "slack:\n  users: [{id: U0ALICE01, role: operator}]\n",
			`c.yaml:1:1: slack.signing_secret: required: the Slack app's signing secret`},
		{"unset env", "slack:\n  signing_secret: ${NOPE}\n  users: [{id: U0ALICE01, role: operator}]\n",
			`c.yaml:2:19: slack.signing_secret: environment variable NOPE is not set`},
		{"bad user id", "slack:\n  signing_secret: s\n  users:\n    - {id: alice, role: operator}\n",
			`c.yaml:4:8: slack.users[0].id: "alice" is not a Slack member id`},
		{"missing user id", "slack:\n  signing_secret: s\n  users:\n    - {role: operator}\n",
			`c.yaml:4:7: slack.users[0].id: required`},
		{"duplicate user", "slack:\n  signing_secret: s\n  users:\n    - {id: U0ALICE01, role: operator}\n    - {id: U0ALICE01, role: viewer}\n",
			`c.yaml:5:8: slack.users[1].id: duplicate Slack user U0ALICE01`},
		{"bad role", "slack:\n  signing_secret: s\n  users:\n    - {id: U0ALICE01, role: root}\n",
			`c.yaml:4:23: slack.users[0].role: must be one of viewer, operator, admin (got "root")`},
		{"nobody may act", "slack:\n  signing_secret: s\n",
			`c.yaml:1:1: slack.users: nobody may act from Slack`},
		{"bad channel_members", "slack:\n  signing_secret: s\n  channel_members: everyone\n" + slackTargets,
			`c.yaml:3:3: slack.channel_members: must be one of none, viewer, acknowledge, operator (got "everyone")`},
		{"channel_members without a slack target", "slack:\n  signing_secret: s\n  channel_members: acknowledge\n",
			`c.yaml:3:3: slack.channel_members: needs a target of type slack`},
		{"bad command", "slack:\n  signing_secret: s\n  command: incident\n  users: [{id: U0ALICE01, role: operator}]\n",
			`c.yaml:3:3: slack.command: "incident" must be a slash command`},
		{"unknown key", "slack:\n  signing_secret: s\n  secret: x\n  users: [{id: U0ALICE01, role: operator}]\n",
			`c.yaml:3:3: slack.secret: unknown key (known keys: channel_members, command, description, owner, signing_secret, users)`},
		{"source named slack-app", "slack:\n  signing_secret: s\n  users: [{id: U0ALICE01, role: operator}]\nsources:\n  - {name: slack-app, kind: generic, auth: {type: none}}\n",
			`c.yaml:5:6: sources[0].name: "slack-app" is the registry entry of the Slack app's signing secret`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse("c.yaml", []byte(tc.yaml), env(nil))
			require.ErrorContains(t, err, tc.want)
			require.NotContains(t, err.Error(), "signing_secret: s\n")
		})
	}
	// Every problem at once.
	_, err := Parse("c.yaml", []byte("slack:\n  command: x\n  users:\n    - {id: bad, role: root}\n  channel_members: all\n"), env(nil))
	require.Len(t, strings.Split(err.Error(), "\n"), 5, "%v", err)
}
