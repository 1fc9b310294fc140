//go:build race

package graph_test

// raceEnabled makes the heavier property tests smaller under the race
// detector, which slows the engine runs they make tenfold.
const raceEnabled = true
