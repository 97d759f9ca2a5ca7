package app

import (
	"context"
	"log/slog"
	"time"

	"github.com/incidenthub/incidenthub/internal/registry"
)

// NoticeInterval is how often a hub looks for owner notices the CLI
// queued (registry_notices) and sends them.
const NoticeInterval = 2 * time.Second

// sendQueuedNotices sends the owner notices queued by `incidenthub
// registry rotate|revoke` (which runs no delivery engine) through send,
// the hub's own owner-notice path, until ctx is done.
func sendQueuedNotices(ctx context.Context, hooks *registry.Registry, send func(context.Context, registry.Notice), log *slog.Logger) {
	t := time.NewTicker(NoticeInterval)
	defer t.Stop()
	for {
		if _, err := hooks.SendQueuedNotices(ctx, send); err != nil && ctx.Err() == nil {
			log.Warn("registry: send queued owner notices", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// withdraw removes this hub's hub_instances row on shutdown.
func withdraw(ctx context.Context, hooks *registry.Registry, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := hooks.Withdraw(ctx); err != nil {
		log.Warn("registry: remove this hub's instance record", "err", err)
	}
}
