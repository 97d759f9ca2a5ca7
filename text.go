package incidenthub

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"unicode/utf8"
)

// Text the hub stores and shows is valid UTF-8 without NUL characters:
// PostgreSQL refuses a NUL in TEXT (SQLSTATE 22021) and in JSONB (22P05)
// and invalid UTF-8 in both, and JSON text must be UTF-8 (RFC 8259 §8.1).
// A well-formed payload is never refused for its text: the values taken
// from it are repaired instead, the same way on every database, and the
// raw body is kept byte for byte beside them.

// Replacement is what stands in for a NUL character or an invalid UTF-8
// byte sequence: U+FFFD REPLACEMENT CHARACTER.
const Replacement = "\uFFFD"

// ValidText reports whether s is valid UTF-8 without NUL.
func ValidText(s string) bool {
	return strings.IndexByte(s, 0) < 0 && utf8.ValidString(s)
}

// RepairText returns s with each NUL character and each run of invalid
// UTF-8 bytes replaced by U+FFFD; s itself when it is valid text.
func RepairText(s string) string {
	if ValidText(s) {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, Replacement), "\x00", Replacement)
}

// Bounds of the alert fields the hub indexes. PostgreSQL cannot index a
// value much longer than 2 KB (a B-tree entry holds at most 2704 bytes),
// and no sensible fingerprint or service name comes close.
const (
	// MaxFingerprintBytes: a longer fingerprint is replaced by
	// "sha256:" and the hex SHA-256 of it, which keeps alerts apart and
	// the same alert's events together.
	MaxFingerprintBytes = 200
	// MaxServiceBytes: a longer service is cut there (at a character
	// boundary) and ends in "…".
	MaxServiceBytes = 1024
)

// Repair makes the alert's text storable and showable on every database:
// every string, label and annotation goes through RepairText (a label
// whose repaired name collides with another's keeps the value of the
// first name in byte order), a fingerprint longer than MaxFingerprintBytes
// becomes its SHA-256 and a service longer than MaxServiceBytes is cut.
func (a *Alert) Repair() {
	for _, p := range []*string{&a.Source, &a.SourceEventID, &a.Fingerprint, &a.Service, &a.AlertType,
		&a.Title, &a.Description, &a.Host, &a.Environment, &a.URL} {
		*p = RepairText(*p)
	}
	a.Status = AlertStatus(RepairText(string(a.Status)))
	a.Severity = Severity(RepairText(string(a.Severity)))
	a.StartsAtFrom = StartsAtOrigin(RepairText(string(a.StartsAtFrom)))
	a.Labels = repairMap(a.Labels)
	a.Annotations = repairMap(a.Annotations)
	if len(a.Fingerprint) > MaxFingerprintBytes {
		sum := sha256.Sum256([]byte(a.Fingerprint))
		a.Fingerprint = "sha256:" + hex.EncodeToString(sum[:])
	}
	a.Service = Truncate(a.Service, MaxServiceBytes)
}

// Repair repairs the warning's text as Alert.Repair does.
func (w *Warning) Repair() {
	w.Field, w.Path, w.Value, w.Message = RepairText(w.Field), RepairText(w.Path), RepairText(w.Value), RepairText(w.Message)
}

// Truncate returns s cut to at most max bytes at a character boundary,
// ending in "…" when it was cut; s itself when it fits.
func Truncate(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := max - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func repairMap(m map[string]string) map[string]string {
	clean := true
	for k, v := range m {
		if !ValidText(k) || !ValidText(v) {
			clean = false
			break
		}
	}
	if clean {
		return m
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make(map[string]string, len(m))
	for _, k := range keys {
		rk := RepairText(k)
		if _, dup := out[rk]; !dup {
			out[rk] = RepairText(m[k])
		}
	}
	return out
}
