// Package correlation turns alerts into incidents: it computes each alert's
// correlation key and applies the alert to the one unresolved incident for
// that key, opening, joining or resolving it.
package correlation

import "github.com/incidenthub/incidenthub"

// Key is the default correlation key: service + "/" + alert_type. An alert
// without a service is keyed by its source instead ("source:<source>/<alert
// type>"), so alerts that merely lack a service label are never merged with
// another service's incident or with another source's alerts.
func Key(a incidenthub.Alert) string {
	if a.Service == "" {
		return "source:" + a.Source + "/" + a.AlertType
	}
	return a.Service + "/" + a.AlertType
}
