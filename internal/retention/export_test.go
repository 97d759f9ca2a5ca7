package retention

import "context"

// ErrNotDue is errNotDue, for tests.
var ErrNotDue = errNotDue

// RunDue runs r as a scheduled tick does: only when due.
func RunDue(ctx context.Context, r *Runner) (Result, error) { return r.run(ctx, true) }
