package incidenthub_test

import (
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/incidenthub/incidenthub"
)

func TestRepairText(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ in, want string }{
		{"", ""},
		{"plain", "plain"},
		{"ünïcödé ✓ 🚨", "ünïcödé ✓ 🚨"},
		{"a\x00b", "a\uFFFDb"},
		{"\x00\x00", "\uFFFD\uFFFD"},
		{"caf\xe9", "caf\uFFFD"},
		{"\xff\xfe!", "\uFFFD!"},       // a run of invalid bytes is one U+FFFD
		{"\xed\xa0\x80", "\uFFFD"},     // a surrogate encoded in UTF-8 is invalid
		{"a\x00\xff", "a\uFFFD\uFFFD"}, // a NUL and an invalid byte
		{"\uFFFD", "\uFFFD"},
	} {
		got := incidenthub.RepairText(c.in)
		if got != c.want {
			t.Errorf("RepairText(%q) = %q, want %q", c.in, got, c.want)
		}
		if !incidenthub.ValidText(got) {
			t.Errorf("RepairText(%q) = %q is not valid text", c.in, got)
		}
		if incidenthub.ValidText(c.in) != (c.in == c.want) {
			t.Errorf("ValidText(%q) = %v", c.in, incidenthub.ValidText(c.in))
		}
	}
}

func TestTruncate(t *testing.T) {
	t.Parallel()
	if got := incidenthub.Truncate("short", 10); got != "short" {
		t.Errorf("Truncate kept %q", got)
	}
	got := incidenthub.Truncate(strings.Repeat("é", 10), 10) // 20 bytes
	if len(got) > 10 || !utf8.ValidString(got) || !strings.HasSuffix(got, "…") {
		t.Errorf("Truncate = %q (%d bytes): want at most 10 valid bytes ending in …", got, len(got))
	}
}

func TestAlertRepair(t *testing.T) {
	t.Parallel()
	longFP := strings.Repeat("f", incidenthub.MaxFingerprintBytes+1)
	a := incidenthub.Alert{
		Fingerprint: longFP, Service: strings.Repeat("s", 5000), Title: "x\x00", Host: "caf\xe9",
		Labels:      map[string]string{"k\x00": "first", "k\xff": "second", "ok": "v\x00"},
		Annotations: map[string]string{"a": "b"},
	}
	a.Repair()
	sum := sha256.Sum256([]byte(longFP))
	if want := "sha256:" + hex.EncodeToString(sum[:]); a.Fingerprint != want {
		t.Errorf("fingerprint %q, want %q", a.Fingerprint, want)
	}
	if len(a.Service) > incidenthub.MaxServiceBytes || !strings.HasSuffix(a.Service, "…") {
		t.Errorf("service of %d bytes not cut", len(a.Service))
	}
	if a.Title != "x\uFFFD" || a.Host != "caf\uFFFD" {
		t.Errorf("title %q, host %q", a.Title, a.Host)
	}
	// "k\x00" sorts before "k\xff": its value wins the repaired name.
	want := map[string]string{"k\uFFFD": "first", "ok": "v\uFFFD"}
	if !maps.Equal(a.Labels, want) {
		t.Errorf("labels %q, want %q", a.Labels, want)
	}
	if !maps.Equal(a.Annotations, map[string]string{"a": "b"}) {
		t.Errorf("annotations %q", a.Annotations)
	}
	short := incidenthub.Alert{Fingerprint: strings.Repeat("f", incidenthub.MaxFingerprintBytes)}
	short.Repair()
	if len(short.Fingerprint) != incidenthub.MaxFingerprintBytes {
		t.Errorf("a fingerprint that fits was changed to %q", short.Fingerprint)
	}
}
