package registry

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/incidenthub/incidenthub/internal/audit"
	"github.com/incidenthub/incidenthub/internal/store"
)

// Authentication failures live in registry_auth_failures so that every
// replica reports the same counts, last addresses and flags. A flood of
// bad requests must not become a flood of writes: each replica writes a
// source's failures at once when it has written none in the last
// authFlushEvery, and otherwise adds them up and writes them together when
// that interval ends (or sooner, when this replica reads them).

// authFlushEvery is the shortest interval between two writes of one
// replica's auth failures.
const authFlushEvery = time.Second

// authFailureRow is a row of registry_auth_failures.
type authFailureRow struct {
	Source      string `gorm:"primaryKey"`
	Count       int64
	LastAt      time.Time
	LastIPs     store.JSON[[]string] `gorm:"column:last_ips"`
	WindowStart time.Time
	WindowCount int64
	SpikeRaised bool
}

func (authFailureRow) TableName() string { return "registry_auth_failures" }

// authPending is what one replica saw of a source since its last write.
type authPending struct {
	n      int64
	lastAt time.Time
	ips    []string // newest first, distinct, at most maxIPs
}

// authFailures is the replica's buffer of unwritten failures.
type authFailures struct {
	mu        sync.Mutex
	pending   map[string]*authPending
	lastFlush time.Time
	timer     *time.Timer
}

// AuthFailed records that a request to inbound source failed
// authentication from ip. When the source's failures within
// AuthFailureWindow (over every replica) reach the spike threshold, it
// logs a warning and writes an inbound.auth_failure_spike audit record,
// once per window. source must be a configured source (to bound the
// metric's labels).
func (r *Registry) AuthFailed(ctx context.Context, source, ip string) {
	a := &r.failures
	a.mu.Lock()
	if a.pending == nil {
		a.pending = map[string]*authPending{}
	}
	p, ok := a.pending[source]
	if !ok {
		p = &authPending{}
		a.pending[source] = p
	}
	p.n++
	p.lastAt = r.now()
	p.ips = pushIP(p.ips, ip)
	now := time.Now()
	flushNow := false
	if a.timer == nil {
		if wait := authFlushEvery - now.Sub(a.lastFlush); wait > 0 {
			a.timer = time.AfterFunc(wait, func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				r.flushAuthFailures(ctx)
			})
		} else {
			flushNow = true
		}
	}
	a.mu.Unlock()
	if flushNow {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		r.flushAuthFailures(ctx)
	}
}

// pushIP puts ip first in ips, without repeats, keeping at most maxIPs.
func pushIP(ips []string, ip string) []string {
	if i := slices.Index(ips, ip); i >= 0 {
		ips = slices.Delete(ips, i, i+1)
	}
	ips = append([]string{ip}, ips...)
	if len(ips) > maxIPs {
		ips = ips[:maxIPs]
	}
	return ips
}

// flushAuthFailures writes this replica's unwritten failures. What cannot
// be written is kept for the next flush.
func (r *Registry) flushAuthFailures(ctx context.Context) {
	a := &r.failures
	a.mu.Lock()
	if a.timer != nil {
		a.timer.Stop()
		a.timer = nil
	}
	pending := a.pending
	a.pending = nil
	a.lastFlush = time.Now()
	a.mu.Unlock()
	for source, p := range pending {
		if err := r.writeAuthFailures(ctx, source, p); err != nil {
			r.o.Log.Error("record auth failures", "source", source, "err", err)
			a.mu.Lock()
			if a.pending == nil {
				a.pending = map[string]*authPending{}
			}
			if q, ok := a.pending[source]; ok {
				// Newer failures arrived meanwhile: they come first.
				for _, ip := range slices.Backward(p.ips) {
					if !slices.Contains(q.ips, ip) && len(q.ips) < maxIPs {
						q.ips = append(q.ips, ip)
					}
				}
				q.n += p.n
			} else {
				a.pending[source] = p
			}
			a.mu.Unlock()
		}
	}
}

// writeAuthFailures adds p to source's row under its row lock and raises
// the spike warning when this write crosses the threshold.
func (r *Registry) writeAuthFailures(ctx context.Context, source string, p *authPending) error {
	var spike *authFailureRow
	err := r.o.Store.Tx(ctx, func(tx *gorm.DB) error {
		seed := authFailureRow{Source: source, LastAt: p.lastAt, WindowStart: p.lastAt, LastIPs: store.JSON[[]string]{V: []string{}}}
		if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&seed).Error; err != nil {
			return err
		}
		var row authFailureRow
		if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("source = ?", source).Take(&row).Error; err != nil {
			return err
		}
		now := p.lastAt
		if now.Sub(row.WindowStart) > AuthFailureWindow {
			row.WindowStart, row.WindowCount, row.SpikeRaised = now, 0, false
		}
		row.WindowCount += p.n
		row.Count += p.n
		if now.After(row.LastAt) {
			row.LastAt = now
		}
		ips := slices.Clone(p.ips)
		for _, ip := range row.LastIPs.V {
			if !slices.Contains(ips, ip) && len(ips) < maxIPs {
				ips = append(ips, ip)
			}
		}
		row.LastIPs = store.JSON[[]string]{V: ips}
		if r.o.AuthFailureSpike > 0 && row.WindowCount >= int64(r.o.AuthFailureSpike) && !row.SpikeRaised {
			row.SpikeRaised = true
			spike = &row
		}
		if err := tx.Model(&authFailureRow{}).Where("source = ?", source).Updates(map[string]any{
			"count": row.Count, "last_at": row.LastAt, "last_ips": row.LastIPs, "window_start": row.WindowStart,
			"window_count": row.WindowCount, "spike_raised": row.SpikeRaised}).Error; err != nil {
			return err
		}
		if spike == nil {
			return nil
		}
		detail := fmt.Sprintf("%d authentication failures within %s; last addresses: %s (someone probing, or a sender with an old secret)",
			row.WindowCount, AuthFailureWindow, strings.Join(ips, ", "))
		return audit.Record(tx, audit.Entry{At: now, Actor: audit.ActorSystem,
			Action: "inbound.auth_failure_spike", EntityType: "registry", Entity: Inbound + "/" + source, Detail: detail})
	})
	if err != nil {
		return err
	}
	if spike != nil {
		r.m.spikes.WithLabelValues(source).Inc()
		r.o.Log.Warn("inbound auth failure spike", "source", source, "failures", spike.WindowCount, "last_ips", strings.Join(spike.LastIPs.V, ", "))
	}
	return nil
}

// authFailures is the entry's failure record, as every replica wrote it
// (this replica's unwritten failures are written first).
func (r *Registry) authFailures(ctx context.Context, row *entryRow) AuthFailures {
	out := AuthFailures{LastIPs: []string{}}
	if row.Direction != Inbound {
		return out
	}
	r.flushAuthFailures(ctx)
	var f authFailureRow
	err := r.o.Store.DB.WithContext(ctx).Where("source = ?", row.Name).Take(&f).Error
	if err != nil {
		if !errors.Is(err, gorm.ErrRecordNotFound) {
			r.o.Log.Warn("read auth failures", "source", row.Name, "err", err)
		}
		return out
	}
	at := f.LastAt.UTC()
	ips := f.LastIPs.V
	if ips == nil {
		ips = []string{}
	}
	return AuthFailures{Count: f.Count, LastAt: &at, LastIPs: ips}
}

// authFailureCounts returns every source's failure count over all
// replicas (for the metric).
func (r *Registry) authFailureCounts(ctx context.Context) (map[string]int64, error) {
	r.flushAuthFailures(ctx)
	var rows []authFailureRow
	if err := r.o.Store.DB.WithContext(ctx).Select("source", "count").Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make(map[string]int64, len(rows))
	for _, f := range rows {
		out[f.Source] = f.Count
	}
	return out, nil
}
