package web

import (
	"github.com/incidenthub/incidenthub"
)

// checkDepth refuses a body whose arrays and objects nest deeper than max
// levels. It runs before anything parses the body (a verifier may), in
// one pass over the bytes without decoding: brackets inside strings do not
// count. A closing bracket with nothing open is refused as not JSON; any
// other malformation is left to checkJSON.
func checkDepth(body []byte, max int) error {
	depth := 0
	inString, escaped := false, false
	for i, b := range body {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case b == '\\':
				escaped = true
			case b == '"':
				inString = false
			}
		case b == '"':
			inString = true
		case b == '{' || b == '[':
			if depth++; depth > max {
				return incidenthub.Errorf(incidenthub.EINVALID, "body nests deeper than %d levels (arrays and objects, ingest.max_depth); refused before parsing", max)
			}
		case b == '}' || b == ']':
			if depth == 0 {
				return incidenthub.Errorf(incidenthub.EINVALID, "body is not valid JSON at byte %d: %q closes nothing", i, b)
			}
			depth--
		}
	}
	return nil
}
