package main

import (
	"embed"
	"io/fs"
)

// uiFiles holds the web UI: page templates, static assets and translations, built into the
// binary so that one file is the whole host.
//
//go:embed ui/templates ui/static ui/i18n
var uiFiles embed.FS

// uiFS returns the ui/ folder as the root of an fs.FS.
func uiFS() fs.FS {
	sub, err := fs.Sub(uiFiles, "ui")
	if err != nil {
		panic(err) // the embed pattern above guarantees the folder exists
	}
	return sub
}
