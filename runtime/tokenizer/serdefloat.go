package tokenizer

import (
	"math"
	"strconv"
)

// serdePow10 is serde_json's POW10 table: 1e0 … 1e308, each correctly rounded (Rust
// literals; math.Pow10 multiplies two table entries and can be off by one ulp).
var serdePow10 = func() (t [309]float64) {
	for i := range t {
		t[i], _ = strconv.ParseFloat("1e"+strconv.Itoa(i), 64)
	}
	return t
}()

// serdeFloat parses a JSON number as serde_json 1.x does without its float_roundtrip
// feature, which is how huggingface/tokenizers reads a Unigram's scores: the digits while
// they fit a uint64 (the rest dropped), converted to float64, then multiplied or divided
// by one power of ten (de.rs parse_integer, parse_decimal, parse_exponent,
// f64_from_parts). That is not always the nearest float64 to the decimal (35 of the 1,000
// scores of testdata/tokenizer/unigram differ from strconv.ParseFloat by an ulp), and the
// ulp decides ties between segmentations of equal score, so the ids follow the reference
// only with the reference's floats. ok is false for what serde_json refuses (a number out
// of range) or what is not a JSON number.
func serdeFloat(b []byte) (f float64, ok bool) {
	i := 0
	positive := true
	if i < len(b) && b[i] == '-' {
		positive = false
		i++
	}
	if i >= len(b) || b[i] < '0' || b[i] > '9' {
		return 0, false
	}
	const maxU = math.MaxUint64
	overflows := func(a uint64, d uint64) bool { return a >= maxU/10 && (a > maxU/10 || d > maxU%10) }
	var sig uint64
	exp := 0
	isInt := true
	if b[i] == '0' {
		i++
		if i < len(b) && b[i] >= '0' && b[i] <= '9' {
			return 0, false // leading zeros are invalid JSON
		}
	} else {
		long := false
		for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
			d := uint64(b[i] - '0')
			if long || overflows(sig, d) {
				long = true // parse_long_integer: the digits past u64 only scale
				exp++
				continue
			}
			sig = sig*10 + d
		}
		if long {
			isInt = false
		}
	}
	if i < len(b) && b[i] == '.' {
		isInt = false
		i++
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return 0, false
		}
		dropped := false
		for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
			d := uint64(b[i] - '0')
			if dropped || overflows(sig, d) {
				dropped = true // parse_decimal_overflow: further digits ignored
				continue
			}
			sig = sig*10 + d
			exp--
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		isInt = false
		i++
		posExp := true
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			posExp = b[i] == '+'
			i++
		}
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return 0, false
		}
		e := 0
		for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
			d := int(b[i] - '0')
			if e >= math.MaxInt32/10 && (e > math.MaxInt32/10 || d > math.MaxInt32%10) {
				// parse_exponent_overflow: 0 for a zero significand or a huge negative
				// exponent, out of range otherwise.
				if sig == 0 || !posExp {
					return math.Copysign(0, boolSign(positive)), allDigits(b[i:])
				}
				return 0, false
			}
			e = e*10 + d
		}
		if posExp {
			exp += e
		} else {
			exp -= e
		}
	}
	if i != len(b) {
		return 0, false
	}
	if isInt {
		f = float64(sig) // a u64 (or i64) converted with `as f64`
		if !positive {
			f = -f
		}
		return f, true
	}
	f = float64(sig)
	for {
		a := exp
		if a < 0 {
			a = -a
		}
		if a < len(serdePow10) {
			if exp >= 0 {
				f *= serdePow10[a]
				if math.IsInf(f, 0) {
					return 0, false
				}
			} else {
				f /= serdePow10[a]
			}
			break
		}
		if f == 0 {
			break
		}
		if exp >= 0 {
			return 0, false
		}
		f /= 1e308
		exp += 308
	}
	if !positive {
		f = -f
	}
	return f, true
}

func boolSign(positive bool) float64 {
	if positive {
		return 1
	}
	return -1
}

func allDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
