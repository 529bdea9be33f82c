package jsonin

import (
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"strings"
)

// Describe returns the text of an encoding/json error without Go type names: a value of the
// wrong kind reads `"label2id" is an object, want a number` instead of encoding/json's
// "cannot unmarshal object into Go struct field HeadConfig.label2id of type int". Other errors
// (syntax, depth) keep their text, which names no Go type.
func Describe(err error) string {
	var te *json.UnmarshalTypeError
	if !errors.As(err, &te) {
		return err.Error()
	}
	got := te.Value
	switch got {
	case "object", "array":
		got = "an " + got
	default:
		got = "a " + got
	}
	if te.Field == "" {
		return "the document is " + got + ", want " + kind(te.Type)
	}
	field := te.Field
	if len(field) > 64 {
		field = field[:64] + "…"
	}
	if num, ok := strings.CutPrefix(te.Value, "number "); ok {
		// A number of the right kind that does not fit: 1e400 for a float64, 2^63 or 1.5 for an int.
		if len(num) > 32 {
			num = num[:32] + "…"
		}
		return strconv.Quote(field) + " = " + num + ", want " + kind(te.Type) + " in range"
	}
	return strconv.Quote(field) + " is " + got + ", want " + kind(te.Type)
}

// kind names what a Go type accepts in JSON terms.
func kind(t reflect.Type) string {
	if t == nil {
		return "another value"
	}
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.Pointer:
		return kind(t.Elem())
	}
	return "another value"
}
