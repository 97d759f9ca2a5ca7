package rules

import (
	"time"

	"github.com/expr-lang/expr/vm"
	"github.com/robfig/cron/v3"

	_ "time/tzdata" // silences name IANA time zones; do not depend on the host's
)

// cronParser reads standard five-field schedules and descriptors (@daily).
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Silence mutes notifications for matching alerts during a window: a cron
// schedule with a duration (recurring), or a one-off start and end. Silenced
// alerts still correlate and are recorded.
type Silence struct {
	Name string
	File string
	Line int

	when     *vm.Program
	schedule cron.Schedule
	duration time.Duration
	loc      *time.Location
	start    time.Time // one-off
	end      time.Time
}

// Active reports whether the silence's window covers t.
func (s *Silence) Active(t time.Time) bool {
	if s.schedule == nil {
		return !t.Before(s.start) && t.Before(s.end)
	}
	// The latest window start at or before t: the first activation after
	// t-duration. Windows that cross midnight need nothing special.
	start := s.schedule.Next(t.Add(-s.duration).In(s.loc))
	return !start.After(t)
}
