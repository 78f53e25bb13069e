package provision

// Version is lab's version, set at build time with -ldflags "-X github.com/backstage-lab/lab/provision.Version=...".
var Version = "dev"
