package registry

import (
	"encoding/csv"
	"io"
	"strconv"
	"strings"
	"time"
)

// CSVHeader is the header row of WriteCSV.
var CSVHeader = []string{"direction", "name", "kind", "managed_by", "owner", "owner_contact", "description", "events",
	"endpoint", "auth_method", "secret_present", "secret_origin", "secret_version", "secret_key_id", "secret_set_at",
	"secret_age_days", "rotation_schedule", "rotation_overlap", "last_rotated_at", "next_rotation_at",
	"expected_interval", "last_event_at", "last_success_at", "last_failure_at", "last_failure", "last_verified_at",
	"last_verify_error", "auth_failures", "auth_failure_ips", "flags", "created_at", "updated_at"}

// WriteCSV writes entries as CSV for auditors, one row per entry under
// CSVHeader: what `incidenthub registry export --format csv` and the web
// UI's export both produce. Times are RFC 3339 UTC, empty when unset.
func WriteCSV(w io.Writer, list []Entry) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	for _, e := range list {
		rec := []string{e.Direction, e.Name, e.Kind, e.ManagedBy, e.Owner.Name, e.Owner.Contact, e.Description,
			strings.Join(e.Events, " "), e.Endpoint, e.AuthMethod, strconv.FormatBool(e.Secret.Present), e.Secret.Origin,
			strconv.Itoa(e.Secret.Version), e.Secret.KeyID, timeOr(e.Secret.SetAt), strconv.FormatFloat(e.Secret.AgeDays, 'f', 1, 64),
			e.Rotation.Schedule, e.Rotation.Overlap, timeOr(e.Rotation.LastRotatedAt), timeOr(e.Rotation.NextDueAt),
			e.ExpectedInterval, timeOr(e.LastEventAt), timeOr(e.LastSuccessAt), timeOr(e.LastFailureAt), e.LastFailure,
			timeOr(e.LastVerifiedAt), e.LastVerifyError, strconv.FormatInt(e.AuthFailures.Count, 10),
			strings.Join(e.AuthFailures.LastIPs, " "), strings.Join(e.FlagNames(), ","), e.CreatedAt.Format(time.RFC3339), e.UpdatedAt.Format(time.RFC3339)}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// FlagNames lists the entry's raised flags: stale, rotation-overdue,
// secret-too-old, failing.
func (e Entry) FlagNames() []string {
	var out []string
	for _, f := range []struct {
		on   bool
		name string
	}{{e.Flags.Stale, "stale"}, {e.Flags.RotationOverdue, "rotation-overdue"}, {e.Flags.SecretTooOld, "secret-too-old"}, {e.Flags.Failing, "failing"}} {
		if f.on {
			out = append(out, f.name)
		}
	}
	return out
}

func timeOr(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
