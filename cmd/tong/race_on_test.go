//go:build race

package main

// raceEnabled says the test binary runs under the race detector, whose
// own memory a measurement of the server must not count.
const raceEnabled = true
