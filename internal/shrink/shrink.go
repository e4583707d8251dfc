package shrink

// minPeak is the size under which a map is not worth copying.
const minPeak = 64

// Delete deletes k from *m; once *m holds a quarter of the most it held
// since its last copy (peak, kept by the caller beside the map) or less,
// *m is replaced by a copy of the right size. Each copy costs a quarter
// of the deletions since the peak, so a delete stays O(1) on average.
func Delete[K comparable, V any](m *map[K]V, peak *int, k K) {
	if n := len(*m); n > *peak {
		*peak = n
	}
	delete(*m, k)
	n := len(*m)
	if *peak < minPeak || n > *peak/4 {
		return
	}
	c := make(map[K]V, n)
	for k, v := range *m {
		c[k] = v
	}
	*m, *peak = c, n
}
