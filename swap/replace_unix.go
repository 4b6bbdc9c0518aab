//go:build unix

package swap

import (
	"errors"
	"fmt"
	"path/filepath"
)

// moveIn renames newPath over target.
func moveIn(fsys FS, newPath, target string) error {
	if err := fsys.Rename(newPath, target); err != nil {
		return fmt.Errorf("replacing %s: %w", target, err)
	}
	syncDir(fsys, filepath.Dir(target))
	return nil
}

// replaceKeeping renames newPath over target after giving the old file the
// name keep, so that target names the old file until the rename and the
// new one after it. makeRoom (the backup rotation) runs once the old file
// has its second name, so a failure to make it (a full disk, for a copy)
// costs no backup.
func replaceKeeping(fsys FS, target, newPath, keep string, makeRoom func() error) error {
	tmp, err := keepCopy(fsys, target, keep)
	if err != nil {
		return fmt.Errorf("keeping a backup of %s: %w", target, err)
	}
	if err := makeRoom(); err != nil {
		_ = fsys.Remove(tmp)
		return err
	}
	if err := fsys.Rename(tmp, keep); err != nil {
		_ = fsys.Remove(tmp)
		return fmt.Errorf("keeping a backup of %s: %w", target, err)
	}
	return moveIn(fsys, newPath, target)
}

// restore renames backup over target and gives the file it replaced the
// name keep (which may be backup itself).
func restore(fsys FS, target, backup, keep string) error {
	tmp, err := keepCopy(fsys, target, keep)
	if err != nil {
		return fmt.Errorf("keeping %s before restoring %s: %w", target, backup, err)
	}
	if err := fsys.Rename(backup, target); err != nil {
		_ = fsys.Remove(tmp)
		return fmt.Errorf("restoring %s: %w", backup, err)
	}
	if err := fsys.Rename(tmp, keep); err != nil {
		// The restore is done; only the replaced binary is lost.
		return errors.Join(fmt.Errorf("restored %s, but could not keep the replaced binary as %s: %w", backup, keep, err), fsys.Remove(tmp))
	}
	syncDir(fsys, filepath.Dir(target))
	return nil
}
