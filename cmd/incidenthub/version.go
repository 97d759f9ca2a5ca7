package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"

	"github.com/incidenthub/incidenthub/internal/version"
)

// versionCmd runs `incidenthub version` (and `--version`): the module
// version, VCS revision, build date and Go version.
func versionCmd(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	setUsage(fs, stderr)
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError(fmt.Sprintf("version: unexpected argument %q", fs.Arg(0)))
	}
	info := version.Get()
	if *asJSON {
		return json.NewEncoder(stdout).Encode(info)
	}
	rev, date := info.Revision, info.Date
	if rev == "" {
		rev = "unknown"
	} else if info.Modified {
		rev += " (modified)"
	}
	if date == "" {
		date = "unknown"
	}
	_, err := fmt.Fprintf(stdout, "incidenthub %s\n  revision: %s\n  built:    %s\n  go:       %s\n", info.Version, rev, date, info.GoVersion)
	return err
}
