package toolchain

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
)

// An installed toolchain is checked every time it is used, not only when
// it is extracted: a file changed in the cache afterwards (an init func
// appended to src/fmt/print.go, a file added to a standard package) would
// otherwise be compiled into every later rebuild. Extraction makes every
// file read-only and records an index beside the tree: each file's path,
// size, mode, sha256 and stamp (modification time, and on unix the change
// time and inode, which no write or chmod leaves as they were). A use
// walks the tree against the index and hashes again only the files whose
// stamp changed; a file that differs, is missing or was added makes the
// install be replaced.

// indexFile is the index of an installed toolchain, beside its "go" tree.
const indexFile = ".selfcompile-index"

// indexEntry is one file of the index.
type indexEntry struct {
	size   int64
	mode   fs.FileMode
	sum    string
	stamp  string
	exists bool // seen while checking
}

// writeIndex makes every file under root/go read-only and records the
// index of the tree in root.
func writeIndex(root string) error {
	tree := filepath.Join(root, "go")
	var lines []string
	err := filepath.WalkDir(tree, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if err := os.Chmod(p, fi.Mode().Perm()&^0o222); err != nil {
			return err
		}
		if fi, err = os.Lstat(p); err != nil { // the chmod changed the change time
			return err
		}
		sum, err := hashFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(tree, p)
		lines = append(lines, fmt.Sprintf("%s %d %o %s %s", sum, fi.Size(), uint32(fi.Mode()), stamp(p, fi), filepath.ToSlash(rel)))
		return nil
	})
	if err != nil {
		return err
	}
	sort.Strings(lines)
	return os.WriteFile(filepath.Join(root, indexFile), []byte(strings.Join(lines, "\n")+"\n"), 0o444)
}

// checkIndex compares the tree under root/go with its index and returns
// what differs (at most a few, for the message); none means intact.
func checkIndex(root string) ([]string, error) {
	idx, err := readIndex(filepath.Join(root, indexFile))
	if err != nil {
		return []string{fmt.Sprintf("it has no readable index (%v; an install by an older go-selfcompile has none)", err)}, nil
	}
	tree := filepath.Join(root, "go")
	var bad []string
	note := func(format string, args ...any) {
		bad = append(bad, fmt.Sprintf(format, args...))
	}
	err = filepath.WalkDir(tree, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(tree, p)
		rel = filepath.ToSlash(rel)
		e, ok := idx[rel]
		if !ok {
			note("%s was added", rel)
			return nil
		}
		e.exists = true
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if fi.Size() != e.size || fi.Mode() != e.mode {
			note("%s changed", rel)
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
			note("%s changed", rel)
		}
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	for rel, e := range idx {
		if !e.exists {
			note("%s is missing", rel)
		}
	}
	sort.Strings(bad)
	return bad, nil
}

func readIndex(name string) (map[string]*indexEntry, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	idx := map[string]*indexEntry{}
	sc := bufio.NewScanner(f)
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
		idx[fields[4]] = &indexEntry{sum: fields[0], size: size, mode: fs.FileMode(mode), stamp: fields[3]}
	}
	if len(idx) == 0 {
		return nil, errors.New("empty")
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
