package registry

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/internal/config"
	"github.com/incidenthub/incidenthub/internal/redact"
)

// Fields are the editable fields of an API-managed entry. On update, nil
// fields are left as they are.
type Fields struct {
	Kind             *string   `json:"kind"`
	Owner            *Owner    `json:"owner"`
	Description      *string   `json:"description"`
	Events           *[]string `json:"events"`
	Endpoint         *string   `json:"endpoint"`
	AuthMethod       *string   `json:"auth_method"`
	ExpectedInterval *string   `json:"expected_interval"`
	RotationSchedule *string   `json:"rotation_schedule"`
	RotationOverlap  *string   `json:"rotation_overlap"`
}

// apply validates f and copies it onto row.
func (f Fields) apply(row *entryRow, now time.Time) error {
	var problems []string
	if f.Kind != nil {
		row.Kind = strings.TrimSpace(*f.Kind)
	}
	if f.Owner != nil {
		o := trimOwner(*f.Owner)
		row.OwnerName, row.OwnerContact = o.Name, o.Contact
	}
	if f.Description != nil {
		row.Description = *f.Description
	}
	if f.Events != nil {
		row.Events.V = slices.Clone(*f.Events)
	}
	if f.Endpoint != nil {
		// Kept and shown redacted: the registry records where an entry
		// points, not how it authenticates.
		row.Endpoint = redact.URL(strings.TrimSpace(*f.Endpoint), nil)
	}
	if f.AuthMethod != nil {
		row.AuthMethod = strings.TrimSpace(*f.AuthMethod)
	}
	dur := func(field string, v *string, dst *int64) {
		if v == nil {
			return
		}
		if *v == "" {
			*dst = 0
			return
		}
		d, err := time.ParseDuration(*v)
		if err != nil || d < 0 {
			problems = append(problems, fmt.Sprintf("%s %q is not a duration (e.g. 1h, 24h)", field, *v))
			return
		}
		*dst = int64(d / time.Second)
	}
	dur("expected_interval", f.ExpectedInterval, &row.ExpectedIntervalSeconds)
	dur("rotation_overlap", f.RotationOverlap, &row.RotationOverlapSeconds)
	if f.RotationSchedule != nil && *f.RotationSchedule != row.RotationSchedule {
		row.RotationSchedule = strings.TrimSpace(*f.RotationSchedule)
		if row.RotationSchedule != "" {
			if _, err := config.ParseSchedule(row.RotationSchedule); err != nil {
				problems = append(problems, fmt.Sprintf("rotation_schedule %q is not a cron expression (e.g. \"0 3 1 * *\" or \"@monthly\"): %v", row.RotationSchedule, err))
			}
		}
		row.NextRotationAt = nextRotation(row.RotationSchedule, cmpTime(row.LastRotatedAt, row.SecretSetAt, &now))
	}
	if row.RotationSchedule != "" && row.RotationOverlapSeconds == 0 {
		row.RotationOverlapSeconds = int64(config.DefaultRotationOverlap / time.Second)
	}
	if row.Kind == "" {
		problems = append(problems, "kind is required")
	}
	if row.RotationSchedule != "" {
		if config.Secretless(row.AuthMethod) {
			problems = append(problems, "a rotation schedule needs an auth method with a secret")
		} else if _, err := GenerateSecret(row.AuthMethod); err != nil {
			problems = append(problems, fmt.Sprintf("a rotation schedule needs a secret the hub generates (auth method token, basic, hmac or standard-webhooks); the hub cannot generate a %q secret", row.AuthMethod))
		}
	}
	if len(problems) > 0 {
		return incidenthub.Errorf(incidenthub.EINVALID, "%s", strings.Join(problems, "; "))
	}
	return nil
}

// Create adds an API-managed entry. When its auth method is one the hub
// generates secrets for (token, hmac, standard-webhooks), a secret is
// generated, stored encrypted and returned: the only time it is shown.
func (r *Registry) Create(ctx context.Context, actor, direction, name string, f Fields) (Entry, string, error) {
	if !nameRe.MatchString(name) {
		return Entry{}, "", incidenthub.Errorf(incidenthub.EINVALID, "name %q must be lowercase letters, digits, - or _", name)
	}
	if direction != Inbound && direction != Outbound {
		return Entry{}, "", incidenthub.Errorf(incidenthub.EINVALID, "direction must be inbound or outbound (got %q)", direction)
	}
	now := r.now()
	row := &entryRow{Name: name, Direction: direction, ManagedBy: ManagedByAPI, CreatedAt: now, UpdatedAt: now}
	if err := f.apply(row, now); err != nil {
		return Entry{}, "", err
	}
	var secret string
	if _, err := GenerateSecret(row.AuthMethod); err == nil {
		if secret, err = r.rotateRow(row, 0, ""); err != nil {
			return Entry{}, "", err
		}
		row.LastRotatedAt = nil
	}
	err := r.o.Store.Tx(ctx, func(tx *gorm.DB) error {
		var n int64
		if err := tx.Model(&entryRow{}).Where("direction = ? AND name = ?", direction, name).Count(&n).Error; err != nil {
			return err
		}
		if n > 0 {
			return incidenthub.Errorf(incidenthub.ECONFLICT, "a %s entry named %q already exists (or existed: names are not reused, so its history stays unambiguous)", direction, name)
		}
		if err := tx.Create(row).Error; err != nil {
			return err
		}
		return r.audit(tx, actor, "registry.create", row, nil, row.meta(), "created through the API")
	})
	if err != nil {
		return Entry{}, "", err
	}
	return r.view(ctx, row), secret, nil
}

// refuseConfig is the error for API edits of a config-managed entry.
func refuseConfig(row *entryRow, what string) error {
	return incidenthub.Errorf(incidenthub.ECONFLICT, "%s %q is managed by the config file, which is its source of truth: %s it there (the API may rotate, revoke and verify it)", row.Direction, row.Name, what)
}

// Update edits an API-managed entry; config-managed entries refuse.
func (r *Registry) Update(ctx context.Context, actor, direction, name string, f Fields) (Entry, error) {
	var saved entryRow
	err := r.o.Store.Tx(ctx, func(tx *gorm.DB) error {
		row, err := find(tx, direction, name, true)
		if err != nil {
			return err
		}
		if row.ManagedBy == ManagedByConfig {
			return refuseConfig(row, "edit")
		}
		before := row.meta()
		now := r.now()
		if err := f.apply(row, now); err != nil {
			return err
		}
		row.UpdatedAt = now
		if err := tx.Save(row).Error; err != nil {
			return err
		}
		saved = *row
		return r.audit(tx, actor, "registry.update", row, before, row.meta(), "edited through the API")
	})
	if err != nil {
		return Entry{}, err
	}
	return r.view(ctx, &saved), nil
}

// Delete removes an API-managed entry (kept, marked removed, for its
// history); config-managed entries refuse.
func (r *Registry) Delete(ctx context.Context, actor, direction, name string) error {
	err := r.o.Store.Tx(ctx, func(tx *gorm.DB) error {
		row, err := find(tx, direction, name, true)
		if err != nil {
			return err
		}
		if row.ManagedBy == ManagedByConfig {
			return refuseConfig(row, "remove")
		}
		before := row.meta()
		now := r.now()
		row.RemovedAt, row.NextRotationAt, row.UpdatedAt = &now, nil, now
		row.SecretCurrent, row.SecretPrevious, row.PreviousExpiresAt = nil, nil, nil
		if err := tx.Save(row).Error; err != nil {
			return err
		}
		return r.audit(tx, actor, "registry.remove", row, before, row.meta(), "deleted through the API; secrets erased")
	})
	if err == nil {
		r.invalidate()
	}
	return err
}

// Reveal returns a secret the scheduler generated, once: the owner's
// retrieval path after a scheduled rotation. A secret already shown (by a
// manual rotate, a create, or an earlier reveal) is not shown again.
func (r *Registry) Reveal(ctx context.Context, actor, direction, name string) (Entry, string, error) {
	var (
		secret string
		saved  entryRow
	)
	err := r.o.Store.Tx(ctx, func(tx *gorm.DB) error {
		row, err := find(tx, direction, name, true)
		if err != nil {
			return err
		}
		if row.SecretCurrent == nil || row.SecretRevealedVersion >= row.SecretVersion {
			return incidenthub.Errorf(incidenthub.ECONFLICT, "the current secret of %s was already shown once (or the hub did not generate it): rotate to issue a new one", row.ref())
		}
		if r.o.Keys == nil {
			return incidenthub.Errorf(incidenthub.ECONFLICT, "no secret key is configured to decrypt the secret of %s", row.ref())
		}
		if secret, err = r.o.Keys.Open(*row.SecretCurrent, row.aad()); err != nil {
			return fmt.Errorf("decrypt secret of %s: %w", row.ref(), err)
		}
		row.SecretRevealedVersion, row.UpdatedAt = row.SecretVersion, r.now()
		if err := tx.Save(row).Error; err != nil {
			return err
		}
		saved = *row
		return r.audit(tx, actor, "registry.reveal", row, nil, nil, fmt.Sprintf("secret version %d shown once", row.SecretVersion))
	})
	if err != nil {
		return Entry{}, "", err
	}
	return r.view(ctx, &saved), secret, nil
}
