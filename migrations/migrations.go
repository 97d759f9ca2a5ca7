// Package migrations embeds the versioned SQL schema, one directory per
// dialect. Files are applied in order by goose; never edit an applied file,
// add a new one.
package migrations

import (
	"embed"
	"io/fs"
)

//go:embed postgres/*.sql sqlite/*.sql
var files embed.FS

// FS returns the migrations for dialect "postgres" or "sqlite".
func FS(dialect string) (fs.FS, error) {
	return fs.Sub(files, dialect)
}
