package helper

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
)

// A record is one value on the wire: a line of its kind, then pairs of a
// field path and its value, every word Go-quoted (see wire.go):
//
//	message "Kind" "3" "Stage" "build" "Done" "12" "Total" "96"
//	done "Result.Checks" "1" "Result.Checks.0.Path" "example.com/p"
//
// The codec walks the value's exported fields by reflection, so a field
// added to a type travels with no change here. A path names a field
// (Name), a slice element (Name.2) or a field of either; a slice's own
// path carries its length and a pointer's marks it set (""), so that
// zero elements and empty structs survive. Zero leaves are left out, and
// a reader ignores the paths its types lack, as a JSON decoder ignores
// unknown keys: the protocol Version says when a change matters.

// maxLen bounds the length of a slice a record may ask for.
const maxLen = 1 << 20

// encode returns the path/value pairs of v, a struct or a pointer to one.
func encode(v any) []string {
	return appendValue(nil, "", reflect.ValueOf(v))
}

func appendValue(out []string, path string, v reflect.Value) []string {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return out
		}
		if path != "" {
			out = append(out, path, "")
		}
		return appendValue(out, path, v.Elem())
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			if f := t.Field(i); f.IsExported() {
				out = appendValue(out, join(path, f.Name), v.Field(i))
			}
		}
		return out
	case reflect.Slice, reflect.Array:
		if v.Len() == 0 {
			return out
		}
		if v.Kind() == reflect.Slice {
			out = append(out, path, strconv.Itoa(v.Len()))
		}
		for i := range v.Len() {
			out = appendValue(out, join(path, strconv.Itoa(i)), v.Index(i))
		}
		return out
	case reflect.Interface:
		if v.IsNil() {
			return out
		}
		err, ok := v.Interface().(error)
		if !ok {
			panic("helper: cannot encode " + v.Type().String() + " at " + path)
		}
		return append(out, path, err.Error())
	}
	if v.IsZero() {
		return out
	}
	var s string
	switch v.Kind() {
	case reflect.String:
		s = v.String()
	case reflect.Bool:
		s = strconv.FormatBool(v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		s = strconv.FormatInt(v.Int(), 10)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		s = strconv.FormatUint(v.Uint(), 10)
	default:
		panic("helper: cannot encode " + v.Type().String() + " at " + path)
	}
	return append(out, path, s)
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// decode sets the fields of *dst from the path/value pairs of a record.
func decode(dst any, pairs []string) error {
	if len(pairs)%2 != 0 {
		return errors.New("a path without its value")
	}
	root := reflect.ValueOf(dst).Elem()
	for i := 0; i < len(pairs); i += 2 {
		if err := set(root, pairs[i], pairs[i+1]); err != nil {
			return fmt.Errorf("%.200s: %v", pairs[i], err)
		}
	}
	return nil
}

// set sets the field at path in v to value; a path v's type lacks is
// ignored.
func set(v reflect.Value, path, value string) error {
	for _, name := range strings.Split(path, ".") {
		v = deref(v)
		switch v.Kind() {
		case reflect.Struct:
			f, ok := v.Type().FieldByName(name)
			if !ok || !f.IsExported() || len(f.Index) != 1 {
				return nil
			}
			v = v.Field(f.Index[0])
		case reflect.Slice, reflect.Array:
			i, err := strconv.Atoi(name)
			if err != nil || i < 0 || i >= maxLen {
				return fmt.Errorf("bad index %q", name)
			}
			if v.Kind() == reflect.Slice && i >= v.Len() {
				grow(v, i+1)
			}
			if i >= v.Len() {
				return nil
			}
			v = v.Index(i)
		default:
			return nil
		}
	}
	return setLeaf(v, value)
}

// deref allocates and follows the pointers v holds.
func deref(v reflect.Value) reflect.Value {
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		v = v.Elem()
	}
	return v
}

// grow makes the slice v at least n long.
func grow(v reflect.Value, n int) {
	if n > v.Len() {
		s := reflect.MakeSlice(v.Type(), n, n)
		reflect.Copy(s, v)
		v.Set(s)
	}
}

func setLeaf(v reflect.Value, value string) error {
	switch v.Kind() {
	case reflect.Pointer:
		deref(v)
	case reflect.Slice:
		n, err := strconv.Atoi(value)
		if err != nil || n < 0 || n > maxLen {
			return fmt.Errorf("bad length %q", value)
		}
		grow(v, n)
	case reflect.String:
		v.SetString(value)
	case reflect.Bool:
		b, err := strconv.ParseBool(value)
		if err != nil {
			return err
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(value, 10, v.Type().Bits())
		if err != nil {
			return err
		}
		v.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, err := strconv.ParseUint(value, 10, v.Type().Bits())
		if err != nil {
			return err
		}
		v.SetUint(n)
	case reflect.Interface:
		if reflect.TypeFor[error]() == v.Type() {
			v.Set(reflect.ValueOf(&remoteError{value}))
		}
	}
	return nil
}

// remoteError is an error of the other side, of which only the message
// travels.
type remoteError struct{ msg string }

func (e *remoteError) Error() string { return e.msg }
