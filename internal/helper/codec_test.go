package helper

import (
	"reflect"
	"testing"
	"time"
)

type codecInner struct {
	Name string
	N    int
}

type codecValue struct {
	S     string
	B     bool
	U     uint8
	D     time.Duration
	List  []string
	Inner []codecInner
	Ptr   *codecInner
	Arr   [2]string
	Err   error
}

// Zero elements, empty structs and set pointers survive; an error
// travels as its message.
func TestCodecRoundTrip(t *testing.T) {
	in := codecValue{S: "a \"b\"\n", B: true, U: 7, D: -time.Second, List: []string{"", "x", ""},
		Inner: []codecInner{{}, {Name: "n", N: -3}}, Ptr: &codecInner{}, Arr: [2]string{"", "z"}}
	var out codecValue
	if err := decode(&out, encode(&in)); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(out, in) {
		t.Errorf("round trip:\n got %+v\nwant %+v", out, in)
	}
	in.Err = &remoteError{"it failed"}
	out = codecValue{}
	if err := decode(&out, encode(in)); err != nil || out.Err == nil || out.Err.Error() != "it failed" {
		t.Errorf("error field: %v, %v", out.Err, err)
	}
}

// A reader ignores the fields its types lack, and refuses values that do
// not parse.
func TestCodecDecode(t *testing.T) {
	var v codecValue
	if err := decode(&v, []string{"Gone", "x", "Inner.0.Gone", "y", "S.Deeper", "z", "S", "kept"}); err != nil || v.S != "kept" || len(v.Inner) != 1 {
		t.Errorf("decode with unknown paths: %+v, %v", v, err)
	}
	for _, pairs := range [][]string{{"B", "maybe"}, {"U", "300"}, {"List", "-1"}, {"List.x", "a"}, {"S"}} {
		if err := decode(&codecValue{}, pairs); err == nil {
			t.Errorf("decode(%q) accepted", pairs)
		}
	}
}
