package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/incidenthub/incidenthub/internal/config"
	"github.com/incidenthub/incidenthub/internal/logging"
)

// serveLogger builds serve's logger: --log-format and --log-level when
// given, else the config's logging block, else text at info.
func serveLogger(fs *flag.FlagSet, cfg *config.Config, w io.Writer, format, level string) (*slog.Logger, error) {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if !set["log-format"] && cfg.Logging.Format != "" {
		format = cfg.Logging.Format
	}
	if !set["log-level"] && cfg.Logging.Level != "" {
		level = cfg.Logging.Level
	}
	if !logging.ValidFormat(format) {
		return nil, usageError(fmt.Sprintf("--log-format %q: want json or text", format))
	}
	if _, err := logging.ParseLevel(level); err != nil {
		return nil, usageError(fmt.Sprintf("--log-level %q: want debug, info, warn or error", level))
	}
	return logging.New(w, format, level)
}
