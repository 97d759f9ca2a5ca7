package remote_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/internal/httperr"
	"github.com/incidenthub/incidenthub/internal/remote"
)

// syncer records the state it was given and answers with result and err.
type syncer struct {
	got    remote.State
	result remote.Result
	err    error
}

func (s *syncer) Sync(_ context.Context, st remote.State) (remote.Result, error) {
	s.got = st
	return s.result, s.err
}

// A notification's Ref round-trips through a sync: ids and last-synced
// values come in under their prefixes and go back out, also on failure,
// and other connectors' keys are left alone.
func TestNotifyRef(t *testing.T) {
	t.Parallel()
	alert := &incidenthub.Alert{Title: "p99"}
	n := &incidenthub.Notification{ID: "msg_1", Event: incidenthub.EventUpdated, Incident: incidenthub.Incident{ID: 7},
		LatestAlert: alert, Ref: map[string]string{"id.issue_key": "OPS-1", "last.status": "open", "last.gone": "x", "other": "kept"}}
	s := &syncer{result: remote.Result{IDs: map[string]string{"issue_key": "OPS-1"},
		Synced: map[string]string{"status": "resolved"}, URL: "https://jira/browse/OPS-1"}}
	retry, err := remote.Notify(context.Background(), s, n)
	require.NoError(t, err)
	require.False(t, retry)
	require.Equal(t, remote.State{Incident: n.Incident, Alert: alert, IdempotencyKey: "msg_1", Event: incidenthub.EventUpdated,
		Remote: map[string]string{"issue_key": "OPS-1"}, Last: map[string]string{"status": "open", "gone": "x"}}, s.got)
	require.Equal(t, map[string]string{"id.issue_key": "OPS-1", "last.status": "resolved", "url": "https://jira/browse/OPS-1", "other": "kept"}, n.Ref)

	refs, url := incidenthub.RefView(n.Ref)
	require.Equal(t, map[string]string{"issue_key": "OPS-1", "other": "kept"}, refs)
	require.Equal(t, "https://jira/browse/OPS-1", url)
}

func TestNotifyClassifies(t *testing.T) {
	t.Parallel()
	cases := []struct {
		err   error
		retry bool
	}{
		{httperr.Temporary("x", "down"), true},
		{fmt.Errorf("wrapped: %w", httperr.Permanent("x", "bad field")), false},
		{errors.New("unclassified"), true},
	}
	for _, tc := range cases {
		n := &incidenthub.Notification{}
		// Partial progress is kept even though the sync failed.
		s := &syncer{err: tc.err, result: remote.Result{IDs: map[string]string{"sys_id": "abc"}}}
		retry, err := remote.Notify(context.Background(), s, n)
		require.ErrorIs(t, err, tc.err)
		require.Equal(t, tc.retry, retry, "%v", tc.err)
		require.Equal(t, "abc", n.Ref["id.sys_id"])
	}
}

func TestSecretAndProblems(t *testing.T) {
	t.Parallel()
	s := remote.Secret("hunter2")
	require.Equal(t, "<secret>", fmt.Sprint(s))
	require.Equal(t, "<secret>", fmt.Sprintf("%#v", s))
	var p remote.Problems
	p.URL("base_url", "ftp://x")
	p.Add("project", "%q is bad", "x y")
	err := p.Err()
	require.EqualError(t, err, "base_url: must be an http(s) URL\nproject: \"x y\" is bad")
	var fe *remote.FieldError
	require.ErrorAs(t, err, &fe)
	require.Equal(t, "base_url", fe.Field)
	require.NoError(t, remote.Problems(nil).Err())
}
