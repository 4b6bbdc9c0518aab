// Package signature tells whether an executable carries a code signature
// that a rebuild does not reproduce: a macOS signature made with a
// signing identity (Developer ID, App Store), as opposed to the ad-hoc
// signature the Go linker gives every darwin/arm64 binary, or a Windows
// Authenticode signature. A rebuilt binary carries only what the linker
// writes, so the rebuild warns, and the publisher's users re-sign.
package signature

import (
	"bytes"
	"debug/macho"
	"debug/pe"
	"encoding/binary"
	"fmt"
	"os"
)

// Mach-O code signature constants (xnu's cs_blobs.h).
const (
	loadCmdCodeSignature = 0x1d       // LC_CODE_SIGNATURE
	magicEmbedded        = 0xfade0cc0 // CSMAGIC_EMBEDDED_SIGNATURE, the SuperBlob
	magicBlobWrapper     = 0xfade0b01 // CSMAGIC_BLOBWRAPPER, holds the CMS signature
	magicCodeDirectory   = 0xfade0c02 // CSMAGIC_CODEDIRECTORY
	slotCodeDirectory    = 0          // CSSLOT_CODEDIRECTORY
	slotSignature        = 0x10000    // CSSLOT_SIGNATURESLOT
	flagAdhoc            = 0x2        // CS_ADHOC
)

// Lost describes the signature of the executable name that a rebuild
// would not carry over, or returns "" when there is none: no signature,
// an ad-hoc one, or a file that is not a Mach-O or PE executable (ELF has
// no such signature). Errors reading the file also give "": the check is
// advice, not a gate.
func Lost(name string) string {
	data, err := os.ReadFile(name)
	if err != nil {
		return ""
	}
	if f, err := macho.NewFile(bytes.NewReader(data)); err == nil {
		defer f.Close()
		return machoIdentity(f, data)
	}
	if f, err := pe.NewFile(bytes.NewReader(data)); err == nil {
		defer f.Close()
		if authenticode(f) {
			return "an Authenticode signature"
		}
	}
	return ""
}

// machoIdentity reports the Mach-O file's signature if it was made with
// a signing identity: its SuperBlob holds a non-empty CMS blob, or its
// code directory lacks the ad-hoc flag.
func machoIdentity(f *macho.File, data []byte) string {
	for _, l := range f.Loads {
		raw := l.Raw()
		if len(raw) < 16 || f.ByteOrder.Uint32(raw) != loadCmdCodeSignature {
			continue
		}
		off, size := uint64(f.ByteOrder.Uint32(raw[8:])), uint64(f.ByteOrder.Uint32(raw[12:]))
		if off+size > uint64(len(data)) {
			return ""
		}
		return describeSuperBlob(data[off : off+size])
	}
	return ""
}

// describeSuperBlob reads an embedded signature SuperBlob (big-endian).
func describeSuperBlob(b []byte) string {
	be := binary.BigEndian
	if len(b) < 12 || be.Uint32(b) != magicEmbedded {
		return ""
	}
	count := be.Uint32(b[8:])
	adhoc, cms := false, false
	for i := uint32(0); i < count; i++ {
		idx := 12 + 8*uint64(i)
		if idx+8 > uint64(len(b)) {
			return ""
		}
		typ, off := be.Uint32(b[idx:]), uint64(be.Uint32(b[idx+4:]))
		if off+12 > uint64(len(b)) {
			continue
		}
		blob := b[off:]
		switch {
		case typ == slotCodeDirectory && be.Uint32(blob) == magicCodeDirectory:
			adhoc = be.Uint32(blob[12:])&flagAdhoc != 0
		case typ == slotSignature && be.Uint32(blob) == magicBlobWrapper:
			cms = be.Uint32(blob[4:]) > 8 // more than the blob's own header
		}
	}
	switch {
	case cms:
		return "a macOS code signature made with a signing identity"
	case !adhoc:
		return "a macOS code signature that is not ad hoc"
	}
	return ""
}

// authenticode reports whether the PE file has a certificate table
// (IMAGE_DIRECTORY_ENTRY_SECURITY), where Authenticode signatures live.
func authenticode(f *pe.File) bool {
	const security = 4 // IMAGE_DIRECTORY_ENTRY_SECURITY
	switch h := f.OptionalHeader.(type) {
	case *pe.OptionalHeader64:
		return int(h.NumberOfRvaAndSizes) > security && h.DataDirectory[security].Size > 0
	case *pe.OptionalHeader32:
		return int(h.NumberOfRvaAndSizes) > security && h.DataDirectory[security].Size > 0
	}
	return false
}

// Warning is what a rebuild says when the running executable carries the
// signature sig (from Lost).
func Warning(sig string) string {
	return fmt.Sprintf("the running binary carries %s; the rebuilt binary will carry only the one the Go linker writes (ad hoc on macOS, none on Windows): sign it again (codesign --sign IDENTITY, signtool or osslsigncode) where your users' systems require it", sig)
}
