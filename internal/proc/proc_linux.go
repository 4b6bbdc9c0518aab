package proc

import "syscall"

// endWithParent has the child sent SIGTERM when its parent dies: SIGTERM,
// not SIGKILL, so that a helper can stop the go commands it runs before
// it goes. Linux sends it when the thread that started the child ends,
// not the process (go.dev/issue/27505); the Go runtime ends a thread only
// when a goroutine locked to it exits, which the callers never do.
func endWithParent(attr *syscall.SysProcAttr) { attr.Pdeathsig = syscall.SIGTERM }
