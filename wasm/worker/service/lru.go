package service

import "container/list"

// lru books the adapters loaded into the engine, least recently used first, with the bytes of
// their files (their weights alias those bytes, so that is what they hold). Not safe for
// concurrent use: Service.mu guards it.
type lru struct {
	budget int64
	size   int64
	order  *list.List // of *lruItem, front = most recently used
	items  map[string]*list.Element
	// removed, if set, hears of every name remove drops (the fusions over it too).
	removed func(name string)
}

type lruItem struct {
	name  string
	bytes int64
	fuses []string // a fusion: the adapters it is over
}

func newLRU(budget int64) *lru {
	return &lru{budget: budget, order: list.New(), items: map[string]*list.Element{}}
}

func (l *lru) has(name string) bool { return l.items[name] != nil }

func (l *lru) touch(name string) {
	if e := l.items[name]; e != nil {
		l.order.MoveToFront(e)
	}
}

func (l *lru) add(name string, bytes int64, fuses []string) {
	if l.has(name) {
		l.remove(name)
	}
	l.items[name] = l.order.PushFront(&lruItem{name: name, bytes: bytes, fuses: fuses})
	l.size += bytes
}

// remove drops name and every fusion over it (the engine unloads those with it).
func (l *lru) remove(name string) {
	e := l.items[name]
	if e == nil {
		return
	}
	l.order.Remove(e)
	delete(l.items, name)
	l.size -= e.Value.(*lruItem).bytes
	if l.removed != nil {
		l.removed(name)
	}
	for n, f := range l.items {
		for _, a := range f.Value.(*lruItem).fuses {
			if a == name {
				l.remove(n)
				break
			}
		}
	}
}

// over returns the names to evict, least recently used first, until the loaded bytes fit the
// budget, never one in keep (the adapters of the request being served) nor one a kept fusion
// needs.
func (l *lru) over(keep map[string]bool) []string {
	needed := map[string]bool{}
	for n := range keep {
		needed[n] = true
		if e := l.items[n]; e != nil {
			for _, a := range e.Value.(*lruItem).fuses {
				needed[a] = true
			}
		}
	}
	var out []string
	size := l.size
	gone := map[string]bool{}
	for e := l.order.Back(); e != nil && size > l.budget; e = e.Prev() {
		it := e.Value.(*lruItem)
		if needed[it.name] || gone[it.name] {
			continue
		}
		out = append(out, it.name)
		gone[it.name] = true
		size -= it.bytes
		for f, fe := range l.items { // its fusions go with it
			fi := fe.Value.(*lruItem)
			if !gone[f] && contains(fi.fuses, it.name) {
				gone[f] = true
				size -= fi.bytes
			}
		}
	}
	return out
}

// names lists the loaded adapters, most recently used first.
func (l *lru) names() []string {
	out := make([]string, 0, len(l.items))
	for e := l.order.Front(); e != nil; e = e.Next() {
		out = append(out, e.Value.(*lruItem).name)
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
