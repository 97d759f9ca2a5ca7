package logging

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestJSONLinesCarryTheRequestID(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log, err := New(&buf, JSON, "info")
	require.NoError(t, err)
	ctx := WithRequestID(context.Background(), "req-1")
	log.InfoContext(ctx, "incident opened", "incident_id", 7)
	log.InfoContext(ctx, "explicit", RequestIDKey, "req-2") // named already: kept, not doubled
	log.Info("no context")
	log.DebugContext(ctx, "below the level")
	log.With("component", "web").WarnContext(ctx, "with attrs")

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	require.Len(t, lines, 4, buf.String())
	var recs []map[string]any
	for _, l := range lines {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(l), &m), l)
		recs = append(recs, m)
	}
	require.Equal(t, "incident opened", recs[0]["msg"])
	require.Equal(t, "INFO", recs[0]["level"])
	require.Equal(t, "req-1", recs[0][RequestIDKey])
	require.EqualValues(t, 7, recs[0]["incident_id"])
	require.Equal(t, "req-2", recs[1][RequestIDKey])
	require.Equal(t, 1, strings.Count(lines[1], RequestIDKey))
	require.NotContains(t, recs[2], RequestIDKey)
	require.Equal(t, "req-1", recs[3][RequestIDKey])
	require.Equal(t, "web", recs[3]["component"])
}

func TestNew(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log, err := New(&buf, "", "")
	require.NoError(t, err)
	log.Debug("hidden")
	log.Info("shown", "k", "v")
	require.Equal(t, 1, strings.Count(buf.String(), "\n"))
	require.Contains(t, buf.String(), "level=INFO msg=shown k=v")

	_, err = New(&buf, "xml", "info")
	require.ErrorContains(t, err, `log format "xml": want json or text`)
	_, err = New(&buf, "json", "loud")
	require.ErrorContains(t, err, `log level "loud"`)
	require.True(t, ValidFormat("json") && ValidFormat("text") && ValidFormat(""))
	require.False(t, ValidFormat("JSON"))
}
