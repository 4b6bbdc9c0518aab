package gocmd

import (
	"os"
	"path/filepath"
	"testing"
)

func TestDecodePackages(t *testing.T) {
	out := []byte(`{"ImportPath":"fmt","Dir":"/goroot/src/fmt","GoFiles":["print.go"]}
{"ImportPath":"example.com/m/p","Name":"p","CgoFiles":["c.go"],"Module":{"Path":"example.com/m","Version":"v1.0.0"}}
{"ImportPath":"example.com/missing","Error":{"Err":"no required module provides package"}}
`)
	pkgs, err := DecodePackages(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) != 3 {
		t.Fatalf("%d packages, want 3", len(pkgs))
	}
	if !pkgs[0].IsStandard() || pkgs[1].IsStandard() || pkgs[2].IsStandard() {
		t.Errorf("IsStandard: %v %v %v, want true false false", pkgs[0].IsStandard(), pkgs[1].IsStandard(), pkgs[2].IsStandard())
	}
	if !pkgs[1].UsesCgo() || pkgs[0].UsesCgo() {
		t.Error("UsesCgo: want only the package with CgoFiles")
	}
	if _, err := DecodePackages([]byte(`{"ImportPath":`)); err == nil {
		t.Error("truncated output decoded without an error")
	}
}

func TestCopyModFile(t *testing.T) {
	src, dst := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "go.mod"), []byte("module example.com/m\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	modFile := filepath.Join(dst, "private.mod")
	if err := CopyModFile(src, modFile); err != nil {
		t.Fatal(err)
	}
	if data, err := os.ReadFile(modFile); err != nil || string(data) != "module example.com/m\n" {
		t.Errorf("copy of go.mod: %q, %v", data, err)
	}
	if _, err := os.Stat(filepath.Join(dst, "private.sum")); !os.IsNotExist(err) {
		t.Errorf("a go.sum copy with no go.sum to copy: %v", err)
	}
	if err := os.WriteFile(filepath.Join(src, "go.sum"), []byte("example.com/x v1.0.0 h1:x=\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := CopyModFile(src, modFile); err != nil {
		t.Fatal(err)
	}
	if data, err := os.ReadFile(filepath.Join(dst, "private.sum")); err != nil || len(data) == 0 {
		t.Errorf("copy of go.sum beside private.mod: %q, %v", data, err)
	}
	if err := CopyModFile(t.TempDir(), modFile); !os.IsNotExist(err) {
		t.Errorf("no go.mod: %v, want not exist", err)
	}
}
