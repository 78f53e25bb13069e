// Package image holds the build contexts lab embeds: the Backstage image (backstage/) and the script that
// makes local stand-ins for the official base images where no registry is reachable (offline/).
package image

import (
	"embed"
	"io/fs"
)

//go:embed all:backstage
var backstage embed.FS

//go:embed offline/make-standins.sh
var standins []byte

// Backstage returns the Backstage image's build context (Dockerfile at its root).
func Backstage() fs.FS {
	sub, err := fs.Sub(backstage, "backstage")
	if err != nil {
		panic(err) // the directory is embedded at compile time
	}
	return sub
}

// StandinsScript returns the offline stand-in script (bash).
func StandinsScript() []byte { return standins }
