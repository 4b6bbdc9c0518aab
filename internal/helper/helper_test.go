package helper

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// The test binary plays the helper: started with scriptEnv set to a
// script name, it reads the request and answers as the script says.
const scriptEnv = "HELPER_TEST_SCRIPT"

func TestMain(m *testing.M) {
	if script := os.Getenv(scriptEnv); script != "" {
		os.Exit(play(script))
	}
	os.Exit(m.Run())
}

func play(script string) int {
	w := NewWriter(os.Stdout)
	req, err := ReadRequest(os.Stdin)
	if err != nil {
		_ = w.Send(Message{Done: &Outcome{Err: &Error{Msg: err.Error()}}})
		return 0
	}
	switch script {
	case "stages":
		for _, st := range []string{"toolchain", "build"} {
			_ = w.Send(Message{Event: &Event{Kind: "start", Stage: st}})
			_ = w.Send(Message{Event: &Event{Kind: "done", Stage: st, Duration: time.Second}})
		}
		_ = w.Send(Message{Warning: "careful"})
		_ = w.Send(Message{Done: &Outcome{Binary: req.Rebuild.Output}})
	case "old":
		fmt.Println(`{"version":1,"done":{}}`)
	case "crash":
		fmt.Fprintln(os.Stderr, "panic: something broke")
		return 2
	}
	return 0
}

func helperFor(t *testing.T, script string) Helper {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return Helper{Bin: exe, Env: append(os.Environ(), scriptEnv+"="+script)}
}

func TestCallRelaysMessagesInOrder(t *testing.T) {
	var got []string
	out, err := helperFor(t, "stages").Call(context.Background(), Request{Rebuild: &Job{Output: "/out/bin"}}, func(m Message) {
		switch {
		case m.Event != nil:
			got = append(got, m.Event.Kind+" "+m.Event.Stage)
		case m.Warning != "":
			got = append(got, "warning "+m.Warning)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "start toolchain,done toolchain,start build,done build,warning careful"
	if strings.Join(got, ",") != want {
		t.Errorf("messages %q, want %q", got, want)
	}
	if out.Binary != "/out/bin" {
		t.Errorf("outcome %+v, want the binary the request named", out)
	}
}

func TestCallRefusesAnotherVersion(t *testing.T) {
	_, err := helperFor(t, "old").Call(context.Background(), Request{Check: &Job{}}, nil)
	if err == nil || !strings.Contains(err.Error(), "protocol version 1") || !strings.Contains(err.Error(), "regenerate the bundle") {
		t.Errorf("error %v, want one naming the version and what to do", err)
	}
}

func TestCallHelperThatDies(t *testing.T) {
	_, err := helperFor(t, "crash").Call(context.Background(), Request{Check: &Job{}}, nil)
	if err == nil || !strings.Contains(err.Error(), "ended without an answer") || !strings.Contains(err.Error(), "panic: something broke") {
		t.Errorf("error %v, want one saying it ended and quoting its stderr", err)
	}
}

func TestCallHelperThatIsNotOne(t *testing.T) {
	h := Helper{Bin: "/bin/true"}
	if _, err := os.Stat(h.Bin); err != nil {
		t.Skip("no /bin/true: ", err)
	}
	_, err := h.Call(context.Background(), Request{Check: &Job{}}, nil)
	if err == nil || !strings.Contains(err.Error(), "/bin/true") {
		t.Errorf("error %v, want one naming the helper", err)
	}
}

func TestReadRequestRefusesOtherVersions(t *testing.T) {
	if _, err := ReadRequest(strings.NewReader(`{"version":99,"check":{}}`)); err == nil || !strings.Contains(err.Error(), "protocol version 99") {
		t.Errorf("error %v, want one naming version 99", err)
	}
	if _, err := ReadRequest(strings.NewReader(`{`)); err == nil || !strings.Contains(err.Error(), "reading the request") {
		t.Errorf("error %v, want one about the request", err)
	}
}
