package delivery_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub/internal/store"
	"github.com/incidenthub/incidenthub/internal/storetest"
)

// A target a reload changes gets a closed breaker (reload.go), and the
// state every replica reports (target_circuits: TargetState, the
// circuit-state metric, the Deliveries page) says so at once, not only
// after its next send: an operator who fixed a disabled target's URL does
// not keep seeing it disabled while nothing is sent to it.
func TestReloadRecordsClosedCircuit(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		old, fixed := newReceiver(t), newReceiver(t)
		h := newHub(t, dialect, reloadConfig([2]string{"ops", old.URL}))
		ctx := context.Background()
		require.NoError(t, h.st.SetCircuit(ctx, store.TargetCircuit{Target: "ops", State: store.CircuitDisabled,
			ChangedAt: time.Now().UTC(), LastError: "connection refused"}))
		require.Equal(t, store.CircuitDisabled, h.eng.TargetState()["ops"])

		ch := h.reload(reloadConfig([2]string{"ops", fixed.URL}))
		require.Equal(t, []string{"ops"}, ch.Changed)
		require.Equal(t, store.CircuitClosed, h.eng.TargetState()["ops"])
		c, err := h.st.Circuits(ctx)
		require.NoError(t, err)
		require.Equal(t, store.CircuitClosed, c["ops"].State)
		require.Empty(t, c["ops"].LastError)
	})
}
