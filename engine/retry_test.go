package engine

import (
	"testing"
	"time"
)

func TestNextDelay(t *testing.T) {
	t.Parallel()
	const ms = time.Millisecond
	tests := []struct{ d, max, want time.Duration }{
		{100 * ms, 0, 200 * ms}, // no cap: it doubles (it used to stay 0)
		{200 * ms, 0, 400 * ms},
		{100 * ms, 150 * ms, 150 * ms},
		{150 * ms, 150 * ms, 150 * ms},
		{0, 0, 0},
	}
	for _, tt := range tests {
		if got := nextDelay(tt.d, tt.max); got != tt.want {
			t.Errorf("nextDelay(%v, %v) = %v, want %v", tt.d, tt.max, got, tt.want)
		}
	}
}
