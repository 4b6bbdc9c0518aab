package helper

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/selfcompile/go-selfcompile/bundle"
)

// FuzzReadRequest: the helper's side reads any bytes without panicking,
// and a request it accepts is written back as one it reads the same.
func FuzzReadRequest(f *testing.F) {
	for _, req := range []Request{
		{Check: &Job{Plugins: []string{"example.com/a@v1.0.0"}}},
		{Rebuild: &Job{
			Plugins: []string{"example.com/a@>=1.2, <2", "./local dir"}, Remove: []string{"example.com/b"},
			Installed: []bundle.Plugin{{Path: "p", Module: "m", Version: "v1", Query: "q", Dir: "d\t\"x\""}},
			Settings:  []Setting{{Key: "-ldflags", Value: "-X 'main.v=1 2'"}}, Env: []string{"GOFLAGS=-x\n-v"},
			SmokeTimeout: 1500 * time.Millisecond, SmokeArgs: []string{"--version", ""}, DryRun: true,
		}},
	} {
		var b strings.Builder
		if err := WriteRequest(&b, req); err != nil {
			f.Fatal(err)
		}
		f.Add([]byte(b.String()))
	}
	f.Add([]byte(header + " \"1\" \"rebuild\"\nplugin \"a\nend\n"))
	f.Add([]byte("\x00\xff"))
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := ReadRequest(bytes.NewReader(data))
		if err != nil {
			return
		}
		var b bytes.Buffer
		if err := WriteRequest(&b, *req); err != nil {
			t.Fatalf("writing back an accepted request: %v", err)
		}
		again, err := ReadRequest(&b)
		if err != nil {
			t.Fatalf("reading back an accepted request: %v\n%s", err, b.Bytes())
		}
		if !reflect.DeepEqual(normal(again), normal(req)) {
			t.Errorf("round trip:\n got %+v\nwant %+v", again, req)
		}
	})
}

// normal is req with a job whose empty lists are nil: the wire does not
// tell them apart.
func normal(req *Request) Job {
	job := req.Check
	if job == nil {
		job = req.Rebuild
	}
	j := *job
	v := reflect.ValueOf(&j).Elem()
	for i := range v.NumField() {
		if fv := v.Field(i); fv.Kind() == reflect.Slice && fv.Len() == 0 {
			fv.SetZero()
		}
	}
	return j
}

// FuzzReadAnswer: the host's side reads any bytes the helper may write
// without panicking, and an outcome it accepts is written back as one it
// reads the same.
func FuzzReadAnswer(f *testing.F) {
	var b bytes.Buffer
	w := NewWriter(&b)
	w.Send(testEvent{Kind: "done", Stage: "toolchain", Duration: time.Second})
	w.Send(testEvent{Kind: "warning\nnow"})
	w.Done(&testOutcome{BundleDir: "/w/b", Result: testResult{Binary: "/w/new",
		Added: []bundle.Plugin{{Path: "example.com/p", Module: "example.com/p", Version: "v1.0.0"}}},
		Err: &testError{Stage: "smoke", Msg: "it \"exited\"", Refused: true}})
	f.Add(b.Bytes())
	f.Add([]byte(header + " \"1\"\nmessage \"x\"\ndone\nend\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		o, err := ReadAnswer[testEvent, testOutcome](bytes.NewReader(data), func(*testEvent) {})
		if err != nil {
			return
		}
		var b bytes.Buffer
		if err := NewWriter(&b).Done(o); err != nil {
			t.Fatal(err)
		}
		again, err := ReadAnswer[testEvent, testOutcome](&b, nil)
		if err != nil {
			t.Fatalf("reading back an accepted outcome: %v\n%s", err, b.Bytes())
		}
		if !reflect.DeepEqual(again, o) {
			t.Errorf("round trip:\n got %+v\nwant %+v", again, o)
		}
	})
}
