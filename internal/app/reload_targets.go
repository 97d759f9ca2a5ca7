package app

import (
	"context"
	"log/slog"
	"sync/atomic"

	"github.com/incidenthub/incidenthub/connectors/slack"
	"github.com/incidenthub/incidenthub/internal/config"
	"github.com/incidenthub/incidenthub/internal/delivery"
	"github.com/incidenthub/incidenthub/web"
)

// reloadingMembers is the Slack channel membership check
// (slack.channel_members) of the targets in force: rebuilt on reload.
type reloadingMembers struct{ p atomic.Pointer[slack.Members] }

var _ web.SlackMembers = (*reloadingMembers)(nil)

func (m *reloadingMembers) IsMember(ctx context.Context, channel, user string) (bool, bool, error) {
	return m.p.Load().IsMember(ctx, channel, user)
}

// prepareTargets is the reloader's Prepare: it builds the new config's
// targets into the delivery engine (internal/delivery/reload.go says what
// happens to deliveries under way) and the Slack membership check. An
// error leaves both as they were and rejects the reload.
func prepareTargets(ctx context.Context, deliv *delivery.Engine, members *reloadingMembers, log *slog.Logger) func(*config.Config) error {
	return func(cfg *config.Config) error {
		m, err := slackMembers(cfg)
		if err != nil {
			return err
		}
		ch, err := deliv.Reload(ctx, cfg)
		if err != nil {
			return err
		}
		members.p.Store(m)
		if !ch.Empty() {
			log.Info("targets reloaded", "added", ch.Added, "changed", ch.Changed, "removed", ch.Removed,
				"deliveries_marked_dead", ch.Abandoned)
		}
		return nil
	}
}
