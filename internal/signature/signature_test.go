package signature

import (
	"bytes"
	"debug/macho"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/selfcompile/go-selfcompile/internal/testkit"
)

// buildFor builds a small program for goos/goarch with the go command.
func buildFor(t *testing.T, goos, goarch string) string {
	t.Helper()
	testkit.NeedGo(t)
	dir := t.TempDir()
	src := filepath.Join(dir, "main.go")
	if err := os.WriteFile(src, []byte("package main\n\nfunc main() {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(dir, "prog-"+goos+"-"+goarch)
	cmd := exec.Command("go", "build", "-o", exe, src)
	cmd.Env = append(os.Environ(), "GOOS="+goos, "GOARCH="+goarch, "GOFLAGS=", "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build for %s/%s: %v\n%s", goos, goarch, err, out)
	}
	return exe
}

// codeDirectoryFlags returns the offset of the code directory's flags in
// the Mach-O file data, found the way Lost finds them.
func codeDirectoryFlags(t *testing.T, data []byte) int {
	t.Helper()
	f, err := macho.NewFile(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range f.Loads {
		raw := l.Raw()
		if f.ByteOrder.Uint32(raw) != loadCmdCodeSignature {
			continue
		}
		sb := int(f.ByteOrder.Uint32(raw[8:]))
		be := binary.BigEndian
		for i := 0; i < int(be.Uint32(data[sb+8:])); i++ {
			if be.Uint32(data[sb+12+8*i:]) == slotCodeDirectory {
				return sb + int(be.Uint32(data[sb+12+8*i+4:])) + 12
			}
		}
	}
	t.Fatal("no code directory in the Mach-O file")
	return 0
}

// The linker signs darwin/arm64 binaries ad hoc: nothing is lost. The
// same binary with the ad-hoc flag cleared, as a signature made with an
// identity has it, is reported.
func TestMachO(t *testing.T) {
	exe := buildFor(t, "darwin", "arm64")
	if got := Lost(exe); got != "" {
		t.Errorf("the linker's ad-hoc signature reported as %q", got)
	}
	data, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	off := codeDirectoryFlags(t, data)
	flags := binary.BigEndian.Uint32(data[off:])
	if flags&flagAdhoc == 0 {
		t.Fatalf("the linker's code directory flags %#x lack CS_ADHOC", flags)
	}
	binary.BigEndian.PutUint32(data[off:], flags&^flagAdhoc)
	signed := filepath.Join(t.TempDir(), "signed")
	if err := os.WriteFile(signed, data, 0o755); err != nil {
		t.Fatal(err)
	}
	if got := Lost(signed); got != "a macOS code signature that is not ad hoc" {
		t.Errorf("a signature without CS_ADHOC: Lost = %q", got)
	}
}

// superBlob builds an embedded signature with a code directory with the
// given flags and a CMS blob wrapper holding cms.
func superBlob(flags uint32, cms []byte) []byte {
	be := binary.BigEndian
	cd := make([]byte, 44)
	be.PutUint32(cd, magicCodeDirectory)
	be.PutUint32(cd[4:], uint32(len(cd)))
	be.PutUint32(cd[12:], flags)
	wrapper := make([]byte, 8+len(cms))
	be.PutUint32(wrapper, magicBlobWrapper)
	be.PutUint32(wrapper[4:], uint32(len(wrapper)))
	copy(wrapper[8:], cms)
	head := make([]byte, 12+2*8)
	be.PutUint32(head, magicEmbedded)
	be.PutUint32(head[4:], uint32(len(head)+len(cd)+len(wrapper)))
	be.PutUint32(head[8:], 2)
	be.PutUint32(head[12:], slotCodeDirectory)
	be.PutUint32(head[16:], uint32(len(head)))
	be.PutUint32(head[20:], slotSignature)
	be.PutUint32(head[24:], uint32(len(head)+len(cd)))
	return append(append(head, cd...), wrapper...)
}

func TestSuperBlob(t *testing.T) {
	for _, tc := range []struct {
		name string
		blob []byte
		want string
	}{
		{"ad hoc, empty CMS wrapper", superBlob(flagAdhoc|0x20000, nil), ""},
		{"identity", superBlob(0, []byte("a CMS signature")), "a macOS code signature made with a signing identity"},
		{"not ad hoc, no CMS", superBlob(0, nil), "a macOS code signature that is not ad hoc"},
		{"truncated", superBlob(0, []byte("x"))[:20], ""},
		{"not a SuperBlob", []byte("0123456789abcdef"), ""},
	} {
		if got := describeSuperBlob(tc.blob); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

// A Windows binary signed with osslsigncode (a self-signed certificate
// made with openssl) is reported; the unsigned one is not.
func TestAuthenticode(t *testing.T) {
	exe := buildFor(t, "windows", "amd64")
	if got := Lost(exe); got != "" {
		t.Errorf("an unsigned PE file reported as %q", got)
	}
	for _, tool := range []string{"openssl", "osslsigncode"} {
		testkit.NeedCommand(t, tool) // .ci/run installs it
	}
	dir := t.TempDir()
	key, cert, signed := filepath.Join(dir, "key.pem"), filepath.Join(dir, "cert.pem"), filepath.Join(dir, "signed.exe")
	for _, args := range [][]string{
		{"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=go-selfcompile test"},
		{"osslsigncode", "sign", "-certs", cert, "-key", key, "-in", exe, "-out", signed},
	} {
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	if got := Lost(signed); got != "an Authenticode signature" {
		t.Errorf("a signed PE file: Lost = %q", got)
	}
}

func TestNotAnExecutable(t *testing.T) {
	name := filepath.Join(t.TempDir(), "x")
	os.WriteFile(name, []byte("#!/bin/sh\n"), 0o755)
	if got := Lost(name); got != "" {
		t.Errorf("a script: %q", got)
	}
	if got := Lost(filepath.Join(t.TempDir(), "missing")); got != "" {
		t.Errorf("a missing file: %q", got)
	}
}
