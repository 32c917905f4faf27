//go:build race

package allocbudget

// RaceEnabled reports whether the test binary runs under the race
// detector, where allocation counts and heap sizes are not the product's.
const RaceEnabled = true
