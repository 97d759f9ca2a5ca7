package connectors

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/connectors/webhook"
	"github.com/incidenthub/incidenthub/internal/config"
	"github.com/incidenthub/incidenthub/internal/remote"
	"github.com/incidenthub/incidenthub/mappings"
)

// renderData is what a target's outbound mapping sees. Its event is the
// change without the "incident." prefix: opened, updated, resolved, …
func renderData(t *config.Target, inc incidenthub.Incident, alert *incidenthub.Alert, event string) mappings.RenderData {
	d := mappings.RenderData{Incident: inc, Event: strings.TrimPrefix(event, "incident."), Vars: t.Vars}
	if alert != nil {
		d.Alert = *alert
	}
	return d
}

// webhookRender renders the whole webhook body with the target's mapping.
func webhookRender(t *config.Target) webhook.Renderer {
	return func(n *incidenthub.Notification) ([]byte, error) {
		return mappings.Render(t.Outbound, renderData(t, n.Incident, n.LatestAlert, n.Event))
	}
}

// mappingRender overrides the default body of the given ops with the
// target's mapping, which must render a JSON object: each of its members
// replaces the default's, except that an object member is merged into the
// default's object of the same name (a Jira mapping may set only
// fields.summary; a Statuspage mapping only incident.name and
// incident.body). Protected members keep their default. Without a
// mapping it returns nil (the connector's defaults).
func mappingRender(t *config.Target, protected []string, ops ...string) remote.RenderFunc {
	if t.Outbound == nil {
		return nil
	}
	return func(op string, s remote.State, body map[string]any) (map[string]any, error) {
		if !slices.Contains(ops, op) {
			return body, nil
		}
		raw, err := mappings.Render(t.Outbound, renderData(t, s.Incident, s.Alert, s.Event))
		if err != nil {
			return nil, fmt.Errorf("mapping %s: %w", t.Outbound.Name, err)
		}
		var over map[string]any
		if err := json.Unmarshal(raw, &over); err != nil || over == nil {
			return nil, fmt.Errorf("mapping %s: must render a JSON object", t.Outbound.Name)
		}
		return merge(body, over, protected), nil
	}
}

func merge(body, over map[string]any, protected []string) map[string]any {
	out := maps.Clone(body)
	for k, v := range over {
		if slices.Contains(protected, k) {
			continue
		}
		dst, ok1 := out[k].(map[string]any)
		src, ok2 := v.(map[string]any)
		if ok1 && ok2 {
			m := maps.Clone(dst)
			maps.Copy(m, src)
			out[k] = m
			continue
		}
		out[k] = v
	}
	return out
}
