// Package correlation turns alerts into incidents: it computes each alert's
// correlation key and applies the alert to the one unresolved incident for
// that key, opening, joining or resolving it.
package correlation

import (
	"crypto/sha256"
	"encoding/hex"

	"github.com/incidenthub/incidenthub"
)

// Key is the default correlation key: service + "/" + alert_type. An alert
// without a service is keyed by its source instead ("source:<source>/<alert
// type>"), so alerts that merely lack a service label are never merged with
// another service's incident or with another source's alerts.
func Key(a incidenthub.Alert) string {
	if a.Service == "" {
		return "source:" + a.Source + "/" + a.AlertType
	}
	return a.Service + "/" + a.AlertType
}

// MaxKeyBytes bounds a correlation key: correlation_keys and the unique
// index of unresolved incidents index it, and PostgreSQL cannot index a
// value much longer than 2 KB.
const MaxKeyBytes = 512

// StorableKey returns key as the hub stores it: valid text (see
// incidenthub.RepairText) and, when longer than MaxKeyBytes, its first
// 400 bytes (cut at a character boundary) then "#sha256:" and the hex
// SHA-256 of the whole key, so long keys stay readable and distinct.
func StorableKey(key string) string {
	key = incidenthub.RepairText(key)
	if len(key) <= MaxKeyBytes {
		return key
	}
	sum := sha256.Sum256([]byte(key))
	return incidenthub.Truncate(key, 400) + "#sha256:" + hex.EncodeToString(sum[:])
}
