package weights

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"
)

// Pickle opcodes this package accepts, as documented in Python's
// Lib/pickletools.py (the opcodes table) and defined in Lib/pickle.py.
// Every other opcode is refused with an *UnsupportedError.
const (
	opMARK             = '('
	opSTOP             = '.'
	opBINFLOAT         = 'G'
	opBININT           = 'J'
	opBININT1          = 'K'
	opBININT2          = 'M'
	opNONE             = 'N'
	opBINPERSID        = 'Q'
	opREDUCE           = 'R'
	opBINUNICODE       = 'X'
	opEMPTY_LIST       = ']'
	opAPPEND           = 'a'
	opBUILD            = 'b'
	opGLOBAL           = 'c'
	opAPPENDS          = 'e'
	opBINGET           = 'h'
	opLONG_BINGET      = 'j'
	opBINPUT           = 'q'
	opLONG_BINPUT      = 'r'
	opSETITEM          = 's'
	opTUPLE            = 't'
	opSETITEMS         = 'u'
	opEMPTY_DICT       = '}'
	opEMPTY_TUPLE      = ')'
	opPROTO            = 0x80
	opTUPLE1           = 0x85
	opTUPLE2           = 0x86
	opTUPLE3           = 0x87
	opNEWTRUE          = 0x88
	opNEWFALSE         = 0x89
	opLONG1            = 0x8a
	opSHORT_BINUNICODE = 0x8c
	opBINUNICODE8      = 0x8d
	opSTACK_GLOBAL     = 0x93
	opMEMOIZE          = 0x94
	opFRAME            = 0x95
)

// Bounds on the pickle machine. A state dict of BERT-base (~200 tensors)
// pickles to ~40 KB with a stack of at most a few thousand items (pickle
// batches SETITEMS by 1000), ~10 memo entries and ~20 container items per
// tensor. The bounds keep memory linear in the pickle with a small factor:
// without maxPickleItems, 2-byte BINGET+APPEND pairs would turn a 32 MiB
// pickle into 16M interface values (256 MiB).
const (
	maxPickleStack = 1 << 16 // items on the stack (MARKs counted separately, same bound)
	maxPickleMemo  = 1 << 18 // memo entries
	maxPickleItems = 1 << 20 // elements added to tuples, lists and dicts, in total
	maxGlobalLine  = 256     // bytes of a GLOBAL module or name line
)

// pyGlobal is a class or function named by GLOBAL/STACK_GLOBAL. Only names
// in allowedGlobals ever become values; nothing is imported or called.
type pyGlobal struct{ module, name string }

func (g pyGlobal) String() string { return g.module + "." + g.name }

// globalKind says what an allow-listed global may be used for.
type globalKind int

const (
	globalOrderedDict globalKind = iota + 1
	globalRebuildTensorV2
	globalRebuildParameter
	globalStorageType
)

// allowedGlobals is the complete allow-list, modelled on the far larger one
// of torch's own weights_only unpickler (torch/_weights_only_unpickler.py):
// only what torch.save of a state dict emits (torch/serialization.py _save,
// torch/_tensor.py _reduce_ex_internal, torch/_utils.py).
var allowedGlobals = map[pyGlobal]globalKind{
	{"collections", "OrderedDict"}:         globalOrderedDict,
	{"torch._utils", "_rebuild_tensor_v2"}: globalRebuildTensorV2,
	{"torch._utils", "_rebuild_parameter"}: globalRebuildParameter,
	{"torch", "FloatStorage"}:              globalStorageType,
	{"torch", "HalfStorage"}:               globalStorageType,
	{"torch", "BFloat16Storage"}:           globalStorageType,
	{"torch", "DoubleStorage"}:             globalStorageType,
	{"torch", "LongStorage"}:               globalStorageType,
	{"torch", "IntStorage"}:                globalStorageType,
	{"torch", "ShortStorage"}:              globalStorageType,
	{"torch", "CharStorage"}:               globalStorageType,
	{"torch", "ByteStorage"}:               globalStorageType,
	{"torch", "BoolStorage"}:               globalStorageType,
}

// storageDTypes maps torch's legacy typed-storage classes to dtypes
// (torch/storage.py, _dtype_to_storage_type_map).
var storageDTypes = map[string]DType{
	"FloatStorage": F32, "HalfStorage": F16, "BFloat16Storage": BF16, "DoubleStorage": F64,
	"LongStorage": I64, "IntStorage": I32, "ShortStorage": I16, "CharStorage": I8,
	"ByteStorage": U8, "BoolStorage": BOOL,
}

// Values on the pickle stack: nil (None), bool, int64, float64, string,
// pyTuple, *pyList, *pyDict, pyGlobal, *pyStorage, *pyTensor.
type (
	pyTuple []any
	pyList  struct{ items []any }
	pyDict  struct {
		keys, vals []any
		index      map[string]int // position of each string key
	}
	// pyStorage is a torch storage loaded by persistent id.
	pyStorage struct {
		key   string
		dtype DType
		numel int
		data  []byte // numel*dtype.Size() bytes
	}
	// pyTensor is the result of _rebuild_tensor_v2: a view of a storage.
	pyTensor struct {
		storage *pyStorage
		offset  int // in elements
		shape   []int
		stride  []int
	}
)

// pickleMark is the stack marker pushed by MARK.
type pickleMark struct{}

func newPyDict() *pyDict { return &pyDict{index: map[string]int{}} }

// set stores d[k] = v, replacing an existing string key as Python does.
func (d *pyDict) set(k, v any) {
	if s, ok := k.(string); ok {
		if i, ok := d.index[s]; ok {
			d.vals[i] = v
			return
		}
		d.index[s] = len(d.keys)
	}
	d.keys = append(d.keys, k)
	d.vals = append(d.vals, v)
}

// persistentLoader resolves a BINPERSID storage record.
type persistentLoader func(key string, dtype DType, numel int) (*pyStorage, error)

// unpickler is a minimal pickle machine for torch.save state dicts. It
// follows the semantics of Lib/pickle.py's _Unpickler for the opcodes it
// knows and refuses everything else.
type unpickler struct {
	file    string
	b       []byte
	pos     int
	stack   []any
	marks   []int // stack lengths at each MARK (Python's metastack)
	memo    map[uint64]any
	items   int // container elements created so far, bounded by maxPickleItems
	persist persistentLoader
}

// addItems counts n new container elements against maxPickleItems.
func (u *unpickler) addItems(n int) error {
	if n > maxPickleItems-u.items {
		return u.unsupported("more than %d container items", maxPickleItems)
	}
	u.items += n
	return nil
}

func (u *unpickler) errf(format string, args ...any) error {
	return &FormatError{File: u.file, Reason: fmt.Sprintf("data.pkl at byte %d: ", u.pos) + fmt.Sprintf(format, args...)}
}

func (u *unpickler) unsupported(format string, args ...any) error {
	return &UnsupportedError{File: u.file, Reason: fmt.Sprintf("data.pkl at byte %d: ", u.pos) + fmt.Sprintf(format, args...)}
}

// read returns the next n bytes, checking n against what is left first.
func (u *unpickler) read(n uint64) ([]byte, error) {
	if n > uint64(len(u.b)-u.pos) {
		return nil, u.errf("truncated: want %d bytes, %d left", n, len(u.b)-u.pos)
	}
	p := u.b[u.pos : u.pos+int(n)]
	u.pos += int(n)
	return p, nil
}

func (u *unpickler) readUint(n int) (uint64, error) {
	p, err := u.read(uint64(n))
	if err != nil {
		return 0, err
	}
	var v uint64
	for i := n - 1; i >= 0; i-- {
		v = v<<8 | uint64(p[i])
	}
	return v, nil
}

func (u *unpickler) push(v any) error {
	if len(u.stack) >= maxPickleStack {
		return u.unsupported("stack deeper than %d items", maxPickleStack)
	}
	u.stack = append(u.stack, v)
	return nil
}

func (u *unpickler) pop() (any, error) {
	if len(u.stack) == 0 || (len(u.marks) > 0 && len(u.stack) <= u.marks[len(u.marks)-1]) {
		return nil, u.errf("stack underflow")
	}
	v := u.stack[len(u.stack)-1]
	u.stack = u.stack[:len(u.stack)-1]
	return v, nil
}

func (u *unpickler) top() (any, error) {
	if len(u.stack) == 0 || (len(u.marks) > 0 && len(u.stack) <= u.marks[len(u.marks)-1]) {
		return nil, u.errf("stack underflow")
	}
	return u.stack[len(u.stack)-1], nil
}

// popMark pops the items pushed since the last MARK (pickle.py, pop_mark).
func (u *unpickler) popMark() ([]any, error) {
	if len(u.marks) == 0 {
		return nil, u.errf("no MARK on the stack")
	}
	m := u.marks[len(u.marks)-1]
	u.marks = u.marks[:len(u.marks)-1]
	items := u.stack[m:len(u.stack):len(u.stack)]
	u.stack = u.stack[:m]
	return items, nil
}

func (u *unpickler) putMemo(idx uint64) error {
	v, err := u.top()
	if err != nil {
		return err
	}
	if _, ok := u.memo[idx]; !ok && len(u.memo) >= maxPickleMemo {
		return u.unsupported("more than %d memo entries", maxPickleMemo)
	}
	u.memo[idx] = v
	return nil
}

func (u *unpickler) getMemo(idx uint64) error {
	v, ok := u.memo[idx]
	if !ok {
		return u.errf("memo key %d not found", idx)
	}
	return u.push(v)
}

func (u *unpickler) pushString(n uint64) error {
	p, err := u.read(n)
	if err != nil {
		return err
	}
	if !utf8.Valid(p) {
		return u.errf("string is not valid UTF-8")
	}
	return u.push(string(p))
}

// global resolves a GLOBAL or STACK_GLOBAL name against the allow-list. A
// name outside it is refused here, before anything could use it.
func (u *unpickler) global(module, name string) error {
	g := pyGlobal{module, name}
	if _, ok := allowedGlobals[g]; !ok {
		return u.unsupported("pickle global %s is not on the allow-list", strconv.Quote(g.String()))
	}
	return u.push(g)
}

// globalLine reads one newline-terminated GLOBAL argument.
func (u *unpickler) globalLine() (string, error) {
	for i := u.pos; i < len(u.b) && i-u.pos <= maxGlobalLine; i++ {
		if u.b[i] == '\n' {
			s := string(u.b[u.pos:i])
			u.pos = i + 1
			return s, nil
		}
	}
	return "", u.errf("GLOBAL argument unterminated or longer than %d bytes", maxGlobalLine)
}

// run executes the pickle and returns the value STOP leaves on the stack.
func (u *unpickler) run() (any, error) {
	for u.pos < len(u.b) {
		op := u.b[u.pos]
		u.pos++
		var err error
		switch op {
		case opPROTO:
			var v uint64
			if v, err = u.readUint(1); err == nil && v > 5 {
				err = u.unsupported("pickle protocol %d", v)
			}
		case opFRAME: // framing is an optimisation for readers; contents follow inline
			var n uint64
			if n, err = u.readUint(8); err == nil && n > uint64(len(u.b)-u.pos) {
				err = u.errf("FRAME of %d bytes exceeds the %d left", n, len(u.b)-u.pos)
			}
		case opSTOP:
			v, err := u.pop()
			if err != nil {
				return nil, err
			}
			return v, nil
		case opMARK:
			if len(u.marks) >= maxPickleStack {
				return nil, u.unsupported("more than %d MARKs", maxPickleStack)
			}
			u.marks = append(u.marks, len(u.stack))
		case opNONE:
			err = u.push(nil)
		case opNEWTRUE:
			err = u.push(true)
		case opNEWFALSE:
			err = u.push(false)
		case opBININT:
			var v uint64
			if v, err = u.readUint(4); err == nil {
				err = u.push(int64(int32(uint32(v))))
			}
		case opBININT1, opBININT2:
			var v uint64
			if v, err = u.readUint(argSize(op)); err == nil {
				err = u.push(int64(v))
			}
		case opLONG1:
			err = u.long1()
		case opBINFLOAT: // big-endian IEEE 754 double
			var p []byte
			if p, err = u.read(8); err == nil {
				err = u.push(math.Float64frombits(binary.BigEndian.Uint64(p)))
			}
		case opSHORT_BINUNICODE, opBINUNICODE, opBINUNICODE8:
			var n uint64
			if n, err = u.readUint(argSize(op)); err == nil {
				err = u.pushString(n)
			}
		case opEMPTY_TUPLE:
			err = u.push(pyTuple{})
		case opEMPTY_LIST:
			err = u.push(&pyList{})
		case opEMPTY_DICT:
			err = u.push(newPyDict())
		case opTUPLE:
			var items []any
			if items, err = u.popMark(); err == nil {
				if err = u.addItems(len(items)); err == nil {
					err = u.push(pyTuple(append([]any(nil), items...)))
				}
			}
		case opTUPLE1, opTUPLE2, opTUPLE3:
			err = u.tupleN(int(op-opTUPLE1) + 1)
		case opAPPEND, opAPPENDS:
			err = u.appends(op == opAPPENDS)
		case opSETITEM, opSETITEMS:
			err = u.setitems(op == opSETITEMS)
		case opBINPUT, opLONG_BINPUT:
			var idx uint64
			if idx, err = u.readUint(argSize(op)); err == nil {
				err = u.putMemo(idx)
			}
		case opMEMOIZE:
			err = u.putMemo(uint64(len(u.memo)))
		case opBINGET, opLONG_BINGET:
			var idx uint64
			if idx, err = u.readUint(argSize(op)); err == nil {
				err = u.getMemo(idx)
			}
		case opGLOBAL:
			var module, name string
			if module, err = u.globalLine(); err == nil {
				if name, err = u.globalLine(); err == nil {
					err = u.global(module, name)
				}
			}
		case opSTACK_GLOBAL:
			err = u.stackGlobal()
		case opREDUCE:
			err = u.reduce()
		case opBINPERSID:
			err = u.binpersid()
		case opBUILD:
			err = u.build()
		default:
			u.pos--
			return nil, u.unsupported("pickle opcode %s", opcodeName(op))
		}
		if err != nil {
			return nil, err
		}
	}
	return nil, u.errf("no STOP opcode (truncated pickle)")
}

// argSize is the byte width of the little-endian length or index argument
// of op (pickletools.py: uint1, uint2, uint4, uint8).
func argSize(op byte) int {
	switch op {
	case opBININT1, opSHORT_BINUNICODE, opBINPUT, opBINGET:
		return 1
	case opBININT2:
		return 2
	case opBINUNICODE8:
		return 8
	}
	return 4 // BINUNICODE, LONG_BINPUT, LONG_BINGET
}

func (u *unpickler) long1() error {
	n, err := u.readUint(1)
	if err != nil {
		return err
	}
	p, err := u.read(n)
	if err != nil {
		return err
	}
	if n > 8 {
		return u.unsupported("LONG1 integer of %d bytes (more than 64 bits)", n)
	}
	var v uint64
	for i := int(n) - 1; i >= 0; i-- {
		v = v<<8 | uint64(p[i])
	}
	if n > 0 && n < 8 && p[n-1]&0x80 != 0 { // sign-extend two's complement
		v |= ^uint64(0) << (8 * n)
	}
	return u.push(int64(v))
}

func (u *unpickler) tupleN(n int) error {
	if err := u.addItems(n); err != nil {
		return err
	}
	t := make(pyTuple, n)
	for i := n - 1; i >= 0; i-- {
		v, err := u.pop()
		if err != nil {
			return err
		}
		t[i] = v
	}
	return u.push(t)
}

func (u *unpickler) appends(batch bool) error {
	var items []any
	if batch {
		var err error
		if items, err = u.popMark(); err != nil {
			return err
		}
	} else {
		v, err := u.pop()
		if err != nil {
			return err
		}
		items = []any{v}
	}
	target, err := u.top()
	if err != nil {
		return err
	}
	l, ok := target.(*pyList)
	if !ok {
		return u.unsupported("APPEND to %s", typeName(target))
	}
	if err := u.addItems(len(items)); err != nil {
		return err
	}
	l.items = append(l.items, items...)
	return nil
}

func (u *unpickler) setitems(batch bool) error {
	var items []any
	if batch {
		var err error
		if items, err = u.popMark(); err != nil {
			return err
		}
		if len(items)%2 != 0 {
			return u.errf("SETITEMS with an odd number of items")
		}
	} else {
		v, err := u.pop()
		if err != nil {
			return err
		}
		k, err := u.pop()
		if err != nil {
			return err
		}
		items = []any{k, v}
	}
	target, err := u.top()
	if err != nil {
		return err
	}
	d, ok := target.(*pyDict)
	if !ok {
		return u.unsupported("SETITEM on %s", typeName(target))
	}
	if err := u.addItems(len(items) / 2); err != nil {
		return err
	}
	for i := 0; i < len(items); i += 2 {
		switch items[i].(type) {
		case string, int64, bool, nil, float64, pyTuple: // hashable
		default:
			return u.unsupported("dict key of type %s", typeName(items[i]))
		}
		d.set(items[i], items[i+1])
	}
	return nil
}

func (u *unpickler) stackGlobal() error {
	name, err := u.pop()
	if err != nil {
		return err
	}
	module, err := u.pop()
	if err != nil {
		return err
	}
	ms, ok1 := module.(string)
	ns, ok2 := name.(string)
	if !ok1 || !ok2 {
		return u.errf("STACK_GLOBAL needs two strings")
	}
	return u.global(ms, ns)
}

// reduce applies an allow-listed callable (pickle.py, load_reduce).
func (u *unpickler) reduce() error {
	argv, err := u.pop()
	if err != nil {
		return err
	}
	fn, err := u.pop()
	if err != nil {
		return err
	}
	args, ok := argv.(pyTuple)
	if !ok {
		return u.errf("REDUCE arguments are %s, not a tuple", typeName(argv))
	}
	g, ok := fn.(pyGlobal)
	if !ok {
		return u.unsupported("REDUCE on %s", typeName(fn))
	}
	var v any
	switch allowedGlobals[g] {
	case globalOrderedDict:
		if len(args) != 0 {
			return u.unsupported("collections.OrderedDict with arguments")
		}
		v = newPyDict()
	case globalRebuildTensorV2:
		v, err = u.rebuildTensor(args)
	case globalRebuildParameter:
		// _rebuild_parameter(data, requires_grad, backward_hooks)
		if len(args) != 3 {
			return u.errf("_rebuild_parameter takes 3 arguments, got %d", len(args))
		}
		t, ok := args[0].(*pyTensor)
		if !ok {
			return u.errf("_rebuild_parameter of %s, not a tensor", typeName(args[0]))
		}
		v = t
	default:
		return u.unsupported("calling %s", g)
	}
	if err != nil {
		return err
	}
	return u.push(v)
}

// rebuildTensor checks the arguments of torch._utils._rebuild_tensor_v2(
// storage, storage_offset, size, stride, requires_grad, backward_hooks,
// metadata=None) and records the view; bounds are checked when the view is
// materialized (see view.go).
func (u *unpickler) rebuildTensor(args pyTuple) (*pyTensor, error) {
	if len(args) != 6 && len(args) != 7 {
		return nil, u.errf("_rebuild_tensor_v2 takes 6 or 7 arguments, got %d", len(args))
	}
	st, ok := args[0].(*pyStorage)
	if !ok {
		return nil, u.errf("_rebuild_tensor_v2 storage is %s", typeName(args[0]))
	}
	off, ok := args[1].(int64)
	if !ok || off < 0 || off > int64(maxInt) {
		return nil, u.errf("_rebuild_tensor_v2 storage_offset %s is not a non-negative integer", shortRepr(args[1]))
	}
	shape, err := u.intTuple(args[2], "size")
	if err != nil {
		return nil, err
	}
	stride, err := u.intTuple(args[3], "stride")
	if err != nil {
		return nil, err
	}
	if len(shape) != len(stride) {
		return nil, u.errf("_rebuild_tensor_v2 size and stride differ in rank (%d and %d)", len(shape), len(stride))
	}
	return &pyTensor{storage: st, offset: int(off), shape: shape, stride: stride}, nil
}

func (u *unpickler) intTuple(v any, what string) ([]int, error) {
	t, ok := v.(pyTuple)
	if !ok {
		return nil, u.errf("_rebuild_tensor_v2 %s is %s, not a tuple", what, typeName(v))
	}
	out := make([]int, len(t))
	for i, x := range t {
		n, ok := x.(int64)
		if !ok || n < 0 || n > int64(maxInt) {
			return nil, u.errf("_rebuild_tensor_v2 %s[%d] = %s is not a non-negative integer", what, i, shortRepr(x))
		}
		out[i] = int(n)
	}
	return out, nil
}

// binpersid resolves a persistent id. torch.save writes
// ('storage', storage_type, key, location, numel) (torch/serialization.py,
// _save's persistent_id; read back by _load's persistent_load).
func (u *unpickler) binpersid() error {
	pidv, err := u.pop()
	if err != nil {
		return err
	}
	pid, ok := pidv.(pyTuple)
	if !ok || len(pid) != 5 || pid[0] != "storage" {
		return u.unsupported("persistent id %s (want ('storage', type, key, location, numel))", typeName(pidv))
	}
	g, ok := pid[1].(pyGlobal)
	if !ok || allowedGlobals[g] != globalStorageType {
		return u.errf("persistent id storage type is %s", typeName(pid[1]))
	}
	key, ok := pid[2].(string)
	if !ok {
		return u.errf("persistent id key is %s, not a string", typeName(pid[2]))
	}
	if _, ok := pid[3].(string); !ok {
		return u.errf("persistent id location is %s, not a string", typeName(pid[3]))
	}
	numel, ok := pid[4].(int64)
	if !ok || numel < 0 || numel > int64(maxInt) {
		return u.errf("persistent id numel %s is not a non-negative integer", shortRepr(pid[4]))
	}
	st, err := u.persist(key, storageDTypes[g.name], int(numel))
	if err != nil {
		return err
	}
	return u.push(st)
}

// build handles BUILD. torch.save of a state dict emits it only to set the
// OrderedDict's _metadata attribute; that state is accepted and ignored.
func (u *unpickler) build() error {
	state, err := u.pop()
	if err != nil {
		return err
	}
	obj, err := u.top()
	if err != nil {
		return err
	}
	if _, ok := obj.(*pyDict); !ok {
		return u.unsupported("BUILD on %s", typeName(obj))
	}
	_ = state
	return nil
}

func typeName(v any) string {
	switch v := v.(type) {
	case nil:
		return "None"
	case bool:
		return "bool"
	case int64:
		return "int"
	case float64:
		return "float"
	case string:
		return "str"
	case pyTuple:
		return "tuple"
	case *pyList:
		return "list"
	case *pyDict:
		return "dict"
	case pyGlobal:
		return v.String()
	case *pyStorage:
		return "storage"
	case *pyTensor:
		return "tensor"
	}
	return "object"
}

// shortRepr formats a pickle value for an error message without walking it: a scalar as
// itself, a string quoted and cut to 32 bytes, anything else by its type name. Values come
// from the file: %v would recurse once per level of a nested tuple (a 1 KB deflated pickle
// nests a million deep, past the goroutine stack) and print a tuple doubled through the memo
// 2^k times.
func shortRepr(v any) string {
	switch x := v.(type) {
	case nil, bool, int64, float64:
		return fmt.Sprint(x)
	case string:
		if len(x) > 32 {
			return strconv.Quote(x[:32]) + "..."
		}
		return strconv.Quote(x)
	}
	return "a " + typeName(v)
}

// opcodeNames names the opcodes refused most often, for error messages
// (names from Lib/pickletools.py).
var opcodeNames = map[byte]string{
	'c': "GLOBAL", 'i': "INST", 'o': "OBJ", 0x81: "NEWOBJ", 0x92: "NEWOBJ_EX",
	'P': "PERSID", 'I': "INT", 'L': "LONG", 0x8b: "LONG4", 'F': "FLOAT",
	'S': "STRING", 'T': "BINSTRING", 'U': "SHORT_BINSTRING", 'V': "UNICODE",
	'B': "BINBYTES", 'C': "SHORT_BINBYTES", 0x8e: "BINBYTES8", 0x96: "BYTEARRAY8",
	0x97: "NEXT_BUFFER", 0x98: "READONLY_BUFFER", 'l': "LIST", 'd': "DICT",
	'p': "PUT", 'g': "GET", 0x82: "EXT1", 0x83: "EXT2", 0x84: "EXT4",
	0x8f: "EMPTY_SET", 0x90: "ADDITEMS", 0x91: "FROZENSET", '0': "POP",
	'1': "POP_MARK", '2': "DUP",
}

func opcodeName(op byte) string {
	if n, ok := opcodeNames[op]; ok {
		return fmt.Sprintf("%s (0x%02x)", n, op)
	}
	return fmt.Sprintf("0x%02x", op)
}
