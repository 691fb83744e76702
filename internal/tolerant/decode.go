// Package tolerant reads argoproj.io objects so that one the typed decoder
// refuses (a CRD schema lets `memory: invalid` through, the Go type does not)
// is left out of the informer cache and reported, instead of failing the
// whole list and stopping every informer of its kind.
package tolerant

import (
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strconv"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	sigsjson "sigs.k8s.io/json"
)

// DecodeError says which field of an object cannot be decoded into its Go
// type, and why.
type DecodeError struct {
	// Path is the field, as spec.template.spec.containers[0].image; empty
	// when no single field could be blamed.
	Path string
	// Value is the offending value when it is a scalar, else nil: maps and
	// lists are never echoed.
	Value any
	Err   error
}

func (e *DecodeError) Error() string {
	switch {
	case e.Path == "":
		return e.Err.Error()
	case e.Value == nil:
		return fmt.Sprintf("%s: %v", e.Path, e.Err)
	default:
		return fmt.Sprintf("%s: %s: %v", e.Path, quote(e.Value), e.Err)
	}
}

func (e *DecodeError) Unwrap() error { return e.Err }

func quote(v any) string {
	if s, ok := v.(string); ok {
		return strconv.Quote(s)
	}
	return fmt.Sprint(v)
}

// Decode converts u into the typed object into by way of JSON, so the rules
// are those of the typed client (case-sensitive keys, each type's own
// UnmarshalJSON). On failure it returns a *DecodeError naming the field.
func Decode(u *unstructured.Unstructured, into runtime.Object) error {
	raw, err := json.Marshal(u.Object)
	if err != nil {
		return fmt.Errorf("encode %s %s as JSON: %w", u.GetKind(), u.GetName(), err)
	}
	if err := decodeJSON(raw, into); err != nil {
		return Locate(u.Object, reflect.TypeOf(into), err)
	}
	return nil
}

func decodeJSON(raw []byte, into any) error {
	return sigsjson.UnmarshalCaseSensitivePreserveInts(raw, into)
}

// Locate walks the unstructured value v alongside the Go type t and returns
// the deepest field whose value alone fails to decode into its field's type.
// whole is the error of decoding all of v, kept when no field is to blame.
func Locate(v any, t reflect.Type, whole error) *DecodeError {
	if e := locate(v, t, ""); e != nil {
		return e
	}
	return &DecodeError{Err: whole}
}

var (
	unmarshaler     = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// locate returns nil when v decodes into t.
func locate(v any, t reflect.Type, path string) *DecodeError {
	err := decodeValue(v, t)
	if err == nil {
		return nil
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	// A type with its own decoder is a leaf: its inner fields are not the
	// JSON's fields.
	custom := reflect.PointerTo(t).Implements(unmarshaler) || reflect.PointerTo(t).Implements(textUnmarshaler)
	if !custom {
		if deeper := locateChild(v, t, path); deeper != nil {
			return deeper
		}
	}
	e := &DecodeError{Path: path, Err: err}
	switch v.(type) {
	case string, bool, int64, float64, json.Number:
		e.Value = v
	}
	return e
}

func locateChild(v any, t reflect.Type, path string) *DecodeError {
	switch t.Kind() {
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		fields := jsonFields(t)
		for _, k := range sortedKeys(m) {
			if f, ok := fields[k]; ok {
				if e := locate(m[k], f, joinField(path, k)); e != nil {
					return e
				}
			}
		}
	case reflect.Map:
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		for _, k := range sortedKeys(m) {
			if e := locate(m[k], t.Elem(), joinKey(path, k)); e != nil {
				return e
			}
		}
	case reflect.Slice, reflect.Array:
		s, ok := v.([]any)
		if !ok || t.Elem().Kind() == reflect.Uint8 { // []byte is a base64 string
			return nil
		}
		for i, item := range s {
			if e := locate(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); e != nil {
				return e
			}
		}
	}
	return nil
}

func decodeValue(v any, t reflect.Type) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return decodeJSON(raw, reflect.New(t).Interface())
}

// jsonFields maps the JSON names of t's fields to their types, following
// encoding/json: untagged embedded structs are flattened, and a field of
// the outer struct wins over a promoted one of the same name.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	var embedded []reflect.Type
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name := tag
		for i := range len(tag) {
			if tag[i] == ',' {
				name = tag[:i]
				break
			}
		}
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if f.Anonymous && name == "" && ft.Kind() == reflect.Struct {
			embedded = append(embedded, ft)
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Type
	}
	for _, et := range embedded {
		for name, ft := range jsonFields(et) {
			if _, ok := out[name]; !ok {
				out[name] = ft
			}
		}
	}
	return out
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)

func joinField(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// joinKey writes a map key as a field when it reads as one (requests.memory)
// and quoted in brackets otherwise (annotations["example.com/x"]).
func joinKey(path, key string) string {
	if identifier.MatchString(key) {
		return joinField(path, key)
	}
	return fmt.Sprintf("%s[%s]", path, strconv.Quote(key))
}
