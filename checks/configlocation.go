package checks

import (
	"crypto/sha1" //nolint:gosec // Backstage's naming scheme, not a security measure
	"encoding/hex"
)

// configLocationRef is the ref of the Location entity Backstage generates for a file location from its
// configuration (catalog.locations): location:default/generated-<sha1 of "file:<target>">.
func configLocationRef(target string) string {
	sum := sha1.Sum([]byte("file:" + target))
	return "location:default/generated-" + hex.EncodeToString(sum[:])
}
