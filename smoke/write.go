package smoke

import (
	"encoding/json"
	"fmt"
	"github.com/selfcompile/go-selfcompile/bundle"
	"io"
	"os"
)

// Requested reports whether this process was started in smoke mode, and
// with which nonce.
func Requested() (nonce string, ok bool) { return os.LookupEnv(Env) }

// Write writes rep as the smoke line: a JSON object on a line of its own
// (a plugin's init may have left a partial line on stdout).
func Write(w io.Writer, rep Report) error {
	if rep.Plugins == nil {
		rep.Plugins = []bundle.Plugin{}
	}
	line, err := json.Marshal(rep)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "\n%s\n", line)
	return err
}
