package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/cloudflare/tableflip"
	"github.com/selfcompile/go-selfcompile/example/abinary/registry"
)

// upgradeTimeout bounds how long a new process may take to become ready
// before the old one gives up the hand-over and keeps serving.
const upgradeTimeout = 30 * time.Second

// serve is the serve command.
func serve(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("webhost serve", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8080", "listen on `ADDRESS` (host:port; port 0 picks one)")
	pidFile := fs.String("pidfile", defaultPIDFile(), "write the ready server's pid to `FILE`")
	addrFile := fs.String("addrfile", "", "write the address listened on to `FILE`")
	drain := fs.Duration("drain", 30*time.Second, "how long in-flight requests may take to finish once the server stops")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	l := log.New(os.Stderr, fmt.Sprintf("webhost[%d]: ", os.Getpid()), 0)
	if err := serveHTTP(ctx, l, *addr, *pidFile, *addrFile, *drain); err != nil {
		l.Print(err)
		return 1
	}
	return 0
}

// serveHTTP serves until a new process took over the listener (after
// SIGHUP) or ctx is done, then drains the requests in flight.
func serveHTTP(ctx context.Context, l *log.Logger, addr, pidFile, addrFile string, drain time.Duration) error {
	upg, err := tableflip.New(tableflip.Options{PIDFile: pidFile, UpgradeTimeout: upgradeTimeout})
	if err != nil {
		return fmt.Errorf("restarting without dropping connections: %w", err)
	}
	defer upg.Stop()
	go upgradeOnHUP(upg, l)

	// An inherited listener (the old process's) if there is one.
	ln, err := upg.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: http.HandlerFunc(answer), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	if addrFile != "" {
		if err := writeFile(addrFile, ln.Addr().String()); err != nil {
			return err
		}
	}
	if err := upg.Ready(); err != nil { // writes the pid file; the old process now exits
		return err
	}
	l.Printf("serving http://%s with plugins [%s]", ln.Addr(), strings.Join(registry.Names(), " "))
	select {
	case <-upg.Exit():
		l.Print("a new process took over; draining")
	case <-ctx.Done():
		l.Print("stopping; draining")
		defer removeOwnPIDFile(pidFile)
	case err := <-served:
		return err
	}
	sctx, cancel := context.WithTimeout(context.Background(), drain)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("draining: %w", err)
	}
	return nil
}

// upgradeOnHUP starts the binary now at the executable's path on each
// SIGHUP, handing it the listener.
func upgradeOnHUP(upg *tableflip.Upgrader, l *log.Logger) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	for range hup {
		l.Print("SIGHUP: starting the new binary")
		if err := upg.Upgrade(); err != nil {
			l.Printf("hand-over failed, still serving: %v", err)
		}
	}
}

// answer says which plugins this process has, and its pid.
func answer(w http.ResponseWriter, _ *http.Request) {
	fmt.Fprintf(w, "plugins: [%s] pid: %d\n", strings.Join(registry.Names(), " "), os.Getpid())
}

// writeFile replaces name with data in one rename, so that a reader
// never sees half of it.
func writeFile(name, data string) error {
	tmp, err := os.CreateTemp(filepath.Dir(name), filepath.Base(name)+".tmp*")
	if err != nil {
		return err
	}
	_, err = tmp.WriteString(data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), name)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}

// removeOwnPIDFile removes the pid file if it still names this process.
func removeOwnPIDFile(name string) {
	if pid, err := readPID(name); err == nil && pid == os.Getpid() {
		os.Remove(name)
	}
}

// readPID reads the pid in a pid file.
func readPID(name string) (int, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 {
		return 0, errors.New("pid file " + name + " holds no pid")
	}
	return pid, nil
}
