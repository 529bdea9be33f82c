package engine

import "sort"

// groupSize is the most texts one forward pass runs. Texts are grouped by token count so that a
// short text never pays for padding to a long one: attention and every matmul scale with the
// padded length, and one 256-token text in a batch of twelve short ones would multiply the
// work several times over.
const groupSize = 8

// lengthGroups returns the indices of texts grouped by token count, shortest first.
func (m *Model) lengthGroups(texts []string) [][]int {
	_, encs := m.base.Tokenize(texts, 0)
	n := make([]int, len(texts))
	for i, e := range encs {
		for _, v := range e.AttentionMask {
			n[i] += int(v)
		}
	}
	order := make([]int, len(texts))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return n[order[a]] < n[order[b]] })
	var groups [][]int
	for len(order) > 0 {
		k := min(groupSize, len(order))
		groups = append(groups, order[:k])
		order = order[k:]
	}
	return groups
}

func pick(texts []string, idx []int) []string {
	out := make([]string, len(idx))
	for i, j := range idx {
		out[i] = texts[j]
	}
	return out
}
