package backstage

import (
	"regexp"
	"strings"
)

var ansiEscape = regexp.MustCompile(`\x1b\[[0-9;]*m`)

// maxBuildLogLines bounds how many of MkDocs' error lines a BuildError carries.
const maxBuildLogLines = 3

// buildLogError returns the text of a TechDocs build log event when it reports an error (MkDocs writes
// "ERROR - ..." and "Aborted with ..."; the generator's own failure comes as the error event), else "".
func buildLogError(data string) string {
	text := strings.TrimSpace(ansiEscape.ReplaceAllString(eventText(data), ""))
	if strings.HasPrefix(text, "ERROR") || strings.HasPrefix(text, "Aborted") || strings.HasPrefix(text, "Error:") {
		return strings.Join(strings.Fields(text), " ")
	}
	return ""
}

// withBuildLog adds the error lines of the build log to the error event's message, which alone often
// says no more than "Command mkdocs failed, exit code: 1".
func withBuildLog(msg string, lines []string) string {
	if len(lines) == 0 {
		return msg
	}
	if len(lines) > maxBuildLogLines {
		lines = lines[len(lines)-maxBuildLogLines:]
	}
	return strings.TrimRight(msg, ". ") + ". MkDocs said: " + strings.Join(lines, " / ")
}
