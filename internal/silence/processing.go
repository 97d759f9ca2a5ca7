package silence

import (
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/internal/hold"
	"github.com/incidenthub/incidenthub/internal/processor"
)

// Silencer is the processor's view of the runtime silences
// (processor.Silencer): each event's transaction reads the silences in
// force, so one created on another replica holds at once.
type Silencer struct{}

var (
	_ processor.Silencer  = Silencer{}
	_ processor.Silencing = (*Set)(nil)
	_ hold.Checker        = HoldChecker
)

// Silencing implements processor.Silencer.
func (Silencer) Silencing(tx *gorm.DB, now time.Time) (processor.Silencing, error) {
	return InForce(tx, now)
}

// Holds implements processor.Silencing: one marker hold per matching
// silence, Ref its id, Reason its id, comment and end, for the timeline.
func (s *Set) Holds(a incidenthub.Alert) ([]hold.Spec, error) {
	if s.Len() == 0 {
		return nil, nil
	}
	matched, err := s.Match(a)
	var out []hold.Spec
	for _, m := range matched {
		out = append(out, hold.Spec{Kind: hold.Silence, Ref: m.ID, Reason: HoldReason(m)})
	}
	return out, err
}

// HoldReason is what the timeline says about a silence holding an
// incident's notifications back.
func HoldReason(s Silence) string {
	return fmt.Sprintf("silenced by silence %s (%q, by %s, until %s)", s.ID, s.Comment, s.CreatedBy,
		s.EndsAt.UTC().Format(time.RFC3339))
}

// HoldChecker is the hold.Checker of hold.Silence: a silence's hold ends
// when the silence has ended (expired early, or its end has passed) or no
// longer exists. Register it on every replica's hold.Releaser.
func HoldChecker(tx *gorm.DB, holds []hold.Row, now time.Time) ([]int64, error) {
	refs := make([]string, 0, len(holds))
	for _, h := range holds {
		refs = append(refs, h.Ref)
	}
	var live []string
	err := tx.Model(&row{}).Where("id IN ? AND ends_at > ?", refs, stamp(now)).Pluck("id", &live).Error
	if err != nil {
		return nil, fmt.Errorf("read silences: %w", err)
	}
	inForce := make(map[string]bool, len(live))
	for _, id := range live {
		inForce[id] = true
	}
	var ended []int64
	for _, h := range holds {
		if !inForce[h.Ref] {
			ended = append(ended, h.ID)
		}
	}
	return ended, nil
}
