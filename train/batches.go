package train

import (
	"math/rand"
	"sort"
)

// LengthBatches cuts one epoch into batches of texts of similar length, as the demo adapters'
// training script does (tools/reference/make_minilm.py _batches): shuffle, sort each run of 8
// batches by token count, cut it into batches, shuffle the batches. Padding then costs little.
func LengthBatches(rng *rand.Rand, order, lengths []int, size int) [][]int {
	rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	var out [][]int
	chunk := size * 8
	for c := 0; c < len(order); c += chunk {
		part := append([]int(nil), order[c:min(c+chunk, len(order))]...)
		sort.SliceStable(part, func(a, b int) bool { return lengths[part[a]] < lengths[part[b]] })
		for s := 0; s < len(part); s += size {
			out = append(out, part[s:min(s+size, len(part))])
		}
	}
	rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}
