package provision

// Docker labels are the source of truth for which resources lab made: it finds and deletes
// containers, networks and volumes only through them, never by name.
const (
	LabelPrefix = "dev.backstage-lab"
	// LabelManaged is "true" on every container, network, volume and image lab creates.
	LabelManaged = LabelPrefix + ".managed"
	// LabelSession is the session id: one `lab start` of one lab.
	LabelSession = LabelPrefix + ".session"
	// LabelLab is the lab slug (labs/<slug>/lab.yaml).
	LabelLab = LabelPrefix + ".lab"
	// LabelRole is "backstage" or "postgres" on containers.
	LabelRole = LabelPrefix + ".role"
	// LabelWorkspace is the absolute host path of the learner's workspace, on the Backstage container.
	LabelWorkspace = LabelPrefix + ".workspace"
	// LabelVersion is the version of lab that created the resource.
	LabelVersion = LabelPrefix + ".version"
)

// Roles of the containers in a session.
const (
	RoleBackstage = "backstage"
	RolePostgres  = "postgres"
)

func sessionLabels(s *Session, role string) map[string]string {
	l := map[string]string{
		LabelManaged: "true",
		LabelSession: s.ID,
		LabelLab:     s.Lab,
		LabelVersion: Version,
	}
	if role != "" {
		l[LabelRole] = role
	}
	if role == RoleBackstage {
		l[LabelWorkspace] = s.Workspace
	}
	return l
}
