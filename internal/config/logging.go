package config

import "github.com/incidenthub/incidenthub/internal/logging"

// Logging is the serve logger: `logging: {format: json, level: info}`.
// serve's --log-format and --log-level win over it.
type Logging struct {
	// Format is "text" (default) or "json": one JSON object a line.
	Format string `yaml:"format"`
	// Level is debug, info (default), warn or error.
	Level string `yaml:"level"`
}

func (l Logging) validate(d *document) {
	if !logging.ValidFormat(l.Format) {
		d.at("logging.format", "must be json or text (got %q)", l.Format)
	}
	if _, err := logging.ParseLevel(l.Level); err != nil {
		d.at("logging.level", "must be debug, info, warn or error (got %q)", l.Level)
	}
}
