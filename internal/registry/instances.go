package registry

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm/clause"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/internal/keyring"
)

// InstanceTTL is how long a hub's row in hub_instances counts as live
// after its last heartbeat (the registry scheduler's tick, 30 s, writes
// one; a hub killed without a clean shutdown drops out after this).
const InstanceTTL = 2 * time.Minute

// instanceRow is a row of hub_instances: which key ids a running hub can
// decrypt with. Key ids only, never a key.
type instanceRow struct {
	ID           string `gorm:"primaryKey"`
	Host         string
	PID          int `gorm:"column:pid"`
	CurrentKeyID string
	KeyIDs       string
	StartedAt    time.Time
	SeenAt       time.Time
}

func (instanceRow) TableName() string { return "hub_instances" }

// Instance is a running hub as recorded in the database.
type Instance struct {
	ID           string
	Host         string
	PID          int
	CurrentKeyID string // "" when it has no key
	KeyIDs       []string
	StartedAt    time.Time
	SeenAt       time.Time
}

func (r *Registry) instance() instanceRow {
	host, _ := os.Hostname()
	row := instanceRow{ID: r.instanceID, Host: host, PID: os.Getpid(), SeenAt: r.now()}
	if r.o.Keys != nil {
		row.CurrentKeyID = r.o.Keys.CurrentID()
		row.KeyIDs = strings.Join(r.o.Keys.IDs(), ",")
	}
	return row
}

// Announce records this process as a running hub with the key ids it can
// decrypt with, so `registry rotate|revoke|rekey` elsewhere can tell
// whether a secret it seals would be readable here. The scheduler's tick
// refreshes the row; Withdraw removes it.
func (r *Registry) Announce(ctx context.Context) error {
	if r.instanceID == "" {
		b := make([]byte, 8)
		if _, err := rand.Read(b); err != nil {
			return err
		}
		r.instanceID = hex.EncodeToString(b)
	}
	row := r.instance()
	row.StartedAt = row.SeenAt
	err := r.o.Store.DB.WithContext(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "id"}},
		DoUpdates: clause.AssignmentColumns([]string{"current_key_id", "key_ids", "seen_at"}),
	}).Create(&row).Error
	if err != nil {
		return fmt.Errorf("record hub instance: %w", err)
	}
	return nil
}

// heartbeat refreshes this hub's row (Tick); a no-op before Announce.
func (r *Registry) heartbeat(ctx context.Context) error {
	if r.instanceID == "" {
		return nil
	}
	return r.Announce(ctx)
}

// Withdraw removes this hub's row (a clean shutdown).
func (r *Registry) Withdraw(ctx context.Context) error {
	if r.instanceID == "" {
		return nil
	}
	return r.o.Store.DB.WithContext(ctx).Where("id = ?", r.instanceID).Delete(&instanceRow{}).Error
}

// Instances lists the hubs seen within InstanceTTL.
func (r *Registry) Instances(ctx context.Context) ([]Instance, error) {
	var rows []instanceRow
	err := r.o.Store.DB.WithContext(ctx).Where("seen_at >= ?", r.now().Add(-InstanceTTL)).Order("started_at, id").Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("list running hubs: %w", err)
	}
	out := make([]Instance, 0, len(rows))
	for _, row := range rows {
		in := Instance{ID: row.ID, Host: row.Host, PID: row.PID, CurrentKeyID: row.CurrentKeyID, StartedAt: row.StartedAt, SeenAt: row.SeenAt}
		if row.KeyIDs != "" {
			in.KeyIDs = strings.Split(row.KeyIDs, ",")
		}
		out = append(out, in)
	}
	return out, nil
}

// CheckHubsHaveKey refuses (ECONFLICT) when a running hub recorded in the
// database cannot decrypt what this registry's current key seals: a
// rotation made here would stop that hub's ingest (or signing) for the
// entry. It says nothing when no hub is recorded: then it cannot tell.
func (r *Registry) CheckHubsHaveKey(ctx context.Context) error {
	if err := r.needKey("check the running hubs' keys"); err != nil {
		return err
	}
	hubs, err := r.Instances(ctx)
	if err != nil {
		return err
	}
	id := r.o.Keys.CurrentID()
	var lacking []string
	for _, h := range hubs {
		if slices.Contains(h.KeyIDs, id) {
			continue
		}
		holds := "no key"
		if len(h.KeyIDs) > 0 {
			holds = "keys " + strings.Join(h.KeyIDs, ", ")
		}
		lacking = append(lacking, fmt.Sprintf("%s (pid %d, seen %s ago) holds %s", h.Host, h.PID,
			r.now().Sub(h.SeenAt).Round(time.Second), holds))
	}
	if len(lacking) == 0 {
		return nil
	}
	return incidenthub.Errorf(incidenthub.ECONFLICT,
		"%d running hub(s) cannot decrypt a secret sealed with this key (%s): %s. Sealing one would make the hub answer 503 for the entry. Give every hub the key first (%s, or a line of registry.secret_key_file, then restart it), or run this with the hubs' key; --force seals anyway",
		len(lacking), id, strings.Join(lacking, "; "), keyring.EnvKey)
}
