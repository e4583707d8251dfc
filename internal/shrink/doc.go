// Package shrink gives back the memory of maps that were large once. A
// Go map keeps the buckets of its largest size for good: after a
// thousand sessions came and went, the maps that held them would hold
// that memory for nothing on a board that has little.
package shrink
