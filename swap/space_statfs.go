//go:build linux || darwin

package swap

import "golang.org/x/sys/unix"

// FreeSpace implements FS with statfs: the blocks available to an
// unprivileged user.
func (OS) FreeSpace(dir string) (uint64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return uint64(st.Bavail) * uint64(st.Bsize), nil
}
