package selfcompile

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/selfcompile/go-selfcompile/swap"
)

// ErrNoBackup is returned by Rollback when there is no backup to restore.
var ErrNoBackup = swap.ErrNoBackup

// Rollback puts the newest backup of the running executable back in its
// place, atomically, under the same lock as Run. The binary it replaces
// becomes the newest backup, so a second Rollback undoes the first. It
// returns the path of the executable.
func Rollback(ctx context.Context) (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("finding the running executable: %w", err)
	}
	target, err := swap.ResolveTarget(exe)
	if err != nil {
		return "", err
	}
	unlock, err := swap.Lock(ctx, target, true)
	if err != nil {
		return "", err
	}
	if _, err := swap.Recover(target); err != nil {
		return "", errors.Join(err, unlock())
	}
	err = swap.Rollback(target)
	if errors.Is(err, swap.ErrNoBackup) {
		err = fmt.Errorf("%w for %s: nothing to roll back to", ErrNoBackup, target)
	}
	return target, errors.Join(err, unlock())
}
