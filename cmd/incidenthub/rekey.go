package main

import (
	"context"
	"fmt"
	"io"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/internal/registry"
	"github.com/incidenthub/incidenthub/internal/store"
)

// checkHubKeys refuses a command that seals a secret when a running hub
// (recorded in hub_instances) lacks the key it seals with; with force it
// warns loudly instead.
func checkHubKeys(ctx context.Context, hooks *registry.Registry, force bool, stderr io.Writer) error {
	if !hooks.HasKey() {
		return nil // the command itself refuses, saying which key to set
	}
	err := hooks.CheckHubsHaveKey(ctx)
	if err == nil || !force || incidenthub.ErrorCode(err) != incidenthub.ECONFLICT {
		return err
	}
	fmt.Fprintf(stderr, "WARNING: --force: %s\nWARNING: sealing anyway; until that hub has the key, /readyz fails and requests for the entry answer 503.\n",
		incidenthub.ErrorMessage(err))
	return nil
}

// rekey runs `registry rekey`.
func rekey(ctx context.Context, hooks *registry.Registry, actor string, stdout io.Writer) error {
	// Entries already under the key are skipped, so a run again after a
	// busy SQLite file (a hub beside it) redoes only what was rolled back.
	var res registry.RekeyResult
	err := store.RetryBusy(ctx, func() (err error) { res, err = hooks.Rekey(ctx, actor); return err })
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "rekeyed %d entries to key %s; %d already under it\n", res.Rekeyed, res.KeyID, res.Current)
	for _, f := range res.Failed {
		fmt.Fprintf(stdout, "  NOT rekeyed: %s %s: %s\n", f.Direction, f.Name, f.Error)
	}
	if len(res.Failed) > 0 {
		return fmt.Errorf("%d entries could not be decrypted with the configured keys and were left as they were: add their key to registry.secret_key_file and run rekey again", len(res.Failed))
	}
	return nil
}
