package registry

import (
	"time"

	"github.com/incidenthub/incidenthub/internal/store"
)

// entryRow is a row of registry_entries.
type entryRow struct {
	ID                      int64 `gorm:"primaryKey"`
	Name                    string
	Direction               string
	Kind                    string
	ManagedBy               string
	OwnerName               string
	OwnerContact            string
	Description             string
	Events                  store.JSON[[]string]
	Endpoint                string
	AuthMethod              string
	ExpectedIntervalSeconds int64
	RotationSchedule        string
	RotationOverlapSeconds  int64
	SecretOrigin            string
	SecretVersion           int
	SecretRevealedVersion   int
	SecretSetAt             *time.Time
	SecretCurrent           *string
	SecretPrevious          *string
	PreviousExpiresAt       *time.Time
	LastRotatedAt           *time.Time
	NextRotationAt          *time.Time
	LastSuccessAt           *time.Time
	LastFailureAt           *time.Time
	LastFailure             string
	LastVerifiedAt          *time.Time
	LastVerifyError         string
	RemovedAt               *time.Time
	CreatedAt               time.Time
	UpdatedAt               time.Time
}

func (entryRow) TableName() string { return "registry_entries" }

// ref names the entry in audit records and encryption context.
func (r *entryRow) ref() string { return r.Direction + "/" + r.Name }

// aad binds a ciphertext to its entry.
func (r *entryRow) aad() string { return "registry/" + r.ref() }

// metaView is the audited state of an entry: everything but ciphertexts.
type metaView struct {
	Name             string   `json:"name"`
	Direction        string   `json:"direction"`
	Kind             string   `json:"kind"`
	ManagedBy        string   `json:"managed_by"`
	Owner            Owner    `json:"owner"`
	Description      string   `json:"description,omitempty"`
	Events           []string `json:"events,omitempty"`
	Endpoint         string   `json:"endpoint,omitempty"`
	AuthMethod       string   `json:"auth_method"`
	ExpectedInterval string   `json:"expected_interval,omitempty"`
	RotationSchedule string   `json:"rotation_schedule,omitempty"`
	RotationOverlap  string   `json:"rotation_overlap,omitempty"`
	SecretOrigin     string   `json:"secret_origin,omitempty"`
	SecretVersion    int      `json:"secret_version"`
	SecretKeyID      string   `json:"secret_key_id,omitempty"`
	PreviousValid    bool     `json:"previous_secret_valid"`
	Removed          bool     `json:"removed,omitempty"`
}

func (r *entryRow) meta() metaView {
	v := metaView{
		Name: r.Name, Direction: r.Direction, Kind: r.Kind, ManagedBy: r.ManagedBy,
		Owner: Owner{Name: r.OwnerName, Contact: r.OwnerContact}, Description: r.Description,
		Events: r.Events.V, Endpoint: r.Endpoint, AuthMethod: r.AuthMethod,
		RotationSchedule: r.RotationSchedule, SecretOrigin: r.SecretOrigin, SecretVersion: r.SecretVersion,
		SecretKeyID: keyIDOf(r.SecretCurrent), PreviousValid: r.SecretPrevious != nil, Removed: r.RemovedAt != nil,
	}
	if r.ExpectedIntervalSeconds > 0 {
		v.ExpectedInterval = seconds(r.ExpectedIntervalSeconds).String()
	}
	if r.RotationSchedule != "" {
		v.RotationOverlap = seconds(r.RotationOverlapSeconds).String()
	}
	return v
}

func seconds(n int64) time.Duration { return time.Duration(n) * time.Second }
