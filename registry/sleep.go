package registry

import (
	"context"
	"time"
)

// Sleep waits for d, or until ctx is done, and then returns context.Cause
// of ctx (nil when d passed first). A d of 0 or less does not wait. It is
// the one context-aware sleep of flowrun, for nodes that pace their output
// as well as for the engine's retries.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}
