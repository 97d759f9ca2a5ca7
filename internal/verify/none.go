package verify

import "context"

// None accepts every request: for a source behind a proxy that already
// authenticated the sender (auth type none).
type None struct{}

var _ Verifier = None{}

// Verify accepts r.
func (None) Verify(context.Context, Request, []string) (Result, error) { return Result{}, nil }
