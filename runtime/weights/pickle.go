package weights

// Pickle opcodes, as documented in Python's Lib/pickletools.py (the opcodes
// table) and defined in Lib/pickle.py.
const (
	opMARK             = '('
	opSTOP             = '.'
	opBININT           = 'J'
	opBININT1          = 'K'
	opBININT2          = 'M'
	opNONE             = 'N'
	opBINPERSID        = 'Q'
	opREDUCE           = 'R'
	opBINUNICODE       = 'X'
	opAPPEND           = 'a'
	opBUILD            = 'b'
	opGLOBAL           = 'c'
	opAPPENDS          = 'e'
	opBINGET           = 'h'
	opLONG_BINGET      = 'j'
	opEMPTY_LIST       = ']'
	opBINPUT           = 'q'
	opLONG_BINPUT      = 'r'
	opSETITEM          = 's'
	opTUPLE            = 't'
	opSETITEMS         = 'u'
	opEMPTY_DICT       = '}'
	opEMPTY_TUPLE      = ')'
	opBINFLOAT         = 'G'
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
