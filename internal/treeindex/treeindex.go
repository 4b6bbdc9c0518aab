// Package treeindex records a directory tree's files and checks the tree
// against the record cheaply, so that what go-selfcompile unpacks into a
// shared cache (a toolchain, a module cache) is checked every time it is
// used, not only when it is unpacked: a file changed afterwards (an init
// func appended to src/fmt/print.go, a file added to a standard package)
// would otherwise be compiled into every later rebuild.
//
// The index holds each file's path, size, mode, sha256 and stamp: its
// modification time and, on unix, its change time and inode, which no
// write, rename or chmod leaves as they were. A check walks the tree and
// hashes again only the files whose stamp moved; a file that differs, is
// missing or was added is reported.
package treeindex

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/selfcompile/go-selfcompile/internal/safedir"
)

// Options says which files of a tree an index covers and how.
type Options struct {
	// Skip, when set, leaves out the files and directories (slash-separated
	// paths relative to the tree) it returns true for: files that a tool
	// rewrites in place, say, and that the check must not report.
	Skip func(rel string) bool
	// ReadOnly makes every indexed file read-only as it is indexed.
	ReadOnly bool
}

// entry is one file of an index.
type entry struct {
	size  int64
	mode  fs.FileMode
	sum   string
	stamp string
	seen  bool
}

// Write indexes the tree dir into the file index.
func Write(index, dir string, o Options) error {
	return update(index, dir, o, nil)
}

// Update indexes the tree dir into the file index again, hashing only the
// files whose stamp differs from the index's: for a tree that grew since
// it was indexed (and was checked since), it costs what the new files do.
func Update(index, dir string, o Options) error {
	old, err := read(index)
	if err != nil {
		old = nil
	}
	return update(index, dir, o, old)
}

func update(index, dir string, o Options, old map[string]*entry) error {
	var lines []string
	err := walk(dir, o, func(p, rel string, fi fs.FileInfo) error {
		if o.ReadOnly && fi.Mode().Perm()&0o222 != 0 {
			if err := os.Chmod(p, fi.Mode().Perm()&^0o222); err != nil {
				return err
			}
			var err error
			if fi, err = os.Lstat(p); err != nil { // the chmod moved the change time
				return err
			}
		}
		st := stamp(p, fi)
		sum := ""
		if e, ok := old[rel]; ok && e.stamp == st && e.size == fi.Size() && e.mode == fi.Mode() {
			sum = e.sum
		} else {
			var err error
			if sum, err = hashFile(p); err != nil {
				return err
			}
		}
		lines = append(lines, fmt.Sprintf("%s %d %o %s %s", sum, fi.Size(), uint32(fi.Mode()), st, rel))
		return nil
	})
	if err != nil {
		return err
	}
	sort.Strings(lines)
	tmp := index + ".tmp"
	if err := os.WriteFile(tmp, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, index)
}

// Check compares the tree dir with the file index and returns what
// differs, sorted; none means intact. A missing or unreadable index is
// itself reported. An index is only as trustworthy as the place it is
// kept: an index or a tree that another user owns, or that group or
// others may write to, is an error (see package safedir; the caller
// checks the directories above).
func Check(index, dir string, o Options) ([]string, error) {
	if err := errors.Join(safedir.Owned(index), safedir.Owned(dir)); err != nil {
		return nil, err
	}
	idx, err := read(index)
	if err != nil {
		return []string{fmt.Sprintf("it has no readable index (%v)", err)}, nil
	}
	var bad []string
	err = walk(dir, o, func(p, rel string, fi fs.FileInfo) error {
		e, ok := idx[rel]
		if !ok {
			bad = append(bad, rel+" was added")
			return nil
		}
		e.seen = true
		if fi.Size() != e.size || fi.Mode() != e.mode {
			bad = append(bad, rel+" changed")
			return nil
		}
		if stamp(p, fi) == e.stamp {
			return nil
		}
		// Touched: only the content says whether it changed.
		sum, err := hashFile(p)
		if err != nil {
			return err
		}
		if sum != e.sum {
			bad = append(bad, rel+" changed")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for rel, e := range idx {
		if !e.seen {
			bad = append(bad, rel+" is missing")
		}
	}
	sort.Strings(bad)
	return bad, nil
}

// Sums returns the sha256 (hex) of every file the index records, by its
// slash-separated path relative to the tree.
func Sums(index string) (map[string]string, error) {
	idx, err := read(index)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(idx))
	for rel, e := range idx {
		out[rel] = e.sum
	}
	return out, nil
}

// Brief shortens a Check result for a message: the first few, and how
// many more.
func Brief(bad []string) string {
	if len(bad) > 3 {
		return strings.Join(bad[:3], ", ") + fmt.Sprintf(" and %d more", len(bad)-3)
	}
	return strings.Join(bad, ", ")
}

func walk(dir string, o Options, fn func(p, rel string, fi fs.FileInfo) error) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if rel != "." && o.Skip != nil && o.Skip(rel) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		return fn(p, rel, fi)
	})
}

func read(name string) (map[string]*entry, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	idx := map[string]*entry{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		fields := strings.SplitN(sc.Text(), " ", 5)
		if len(fields) != 5 {
			return nil, fmt.Errorf("malformed line %q", sc.Text())
		}
		size, err1 := strconv.ParseInt(fields[1], 10, 64)
		mode, err2 := strconv.ParseUint(fields[2], 8, 32)
		if err := errors.Join(err1, err2); err != nil {
			return nil, err
		}
		idx[fields[4]] = &entry{sum: fields[0], size: size, mode: fs.FileMode(mode), stamp: fields[3]}
	}
	return idx, sc.Err()
}

func hashFile(name string) (string, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
