//go:build unix && !linux && !darwin

package swap

import (
	"errors"
	"fmt"
)

// FreeSpace implements FS where this package does not know the statfs
// layout; Install then skips the check and relies on the write failing.
func (OS) FreeSpace(dir string) (uint64, error) {
	return 0, fmt.Errorf("free space of %s: %w", dir, errors.ErrUnsupported)
}
