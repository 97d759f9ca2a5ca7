package registry

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/incidenthub/incidenthub/internal/keyring"
)

// ErrUndecryptable wraps the error of a stored secret this process cannot
// decrypt with its keys (e.g. rotated by a CLI that had another key).
var ErrUndecryptable = errors.New("stored secret cannot be decrypted with this hub's keys")

// SecretProblem names an entry whose stored secret does not decrypt.
type SecretProblem struct {
	Direction string `json:"direction"`
	Name      string `json:"name"`
	Error     string `json:"error"`
}

// undecryptable is the text of a secret problem.
func undecryptable(reason string) string {
	return "stored secret cannot be decrypted: " + reason
}

// checkRow reports why a stored secret of row does not decrypt with this
// registry's keys ("" when every one does, or none is stored): the
// current one, and the previous one while its overlap runs.
func (r *Registry) checkRow(row *entryRow) string {
	for _, ct := range []*string{row.SecretCurrent, row.SecretPrevious} {
		if ct == nil || (ct == row.SecretPrevious && row.PreviousExpiresAt == nil) {
			continue
		}
		if r.o.Keys == nil {
			return undecryptable(fmt.Sprintf("no secret key is configured (set %s or registry.secret_key_file)", keyring.EnvKey))
		}
		if _, err := r.o.Keys.Open(*ct, row.aad()); err != nil {
			return undecryptable(err.Error())
		}
	}
	return ""
}

// noteSecret records whether entry k's stored secrets decrypt (problem
// "") and reports whether that changed. Each change is logged once, by
// the caller that made it, however many requests see the same state.
func (r *Registry) noteSecret(k key, problem string) bool {
	r.keyMu.Lock()
	old, failing := r.keyProblems[k]
	switch {
	case problem != "" && !failing:
		r.keyProblems[k] = problem
	case problem != "":
		r.keyProblems[k] = problem // the reason may change; the state did not
		r.keyMu.Unlock()
		return false
	case failing:
		delete(r.keyProblems, k)
	default:
		r.keyMu.Unlock()
		return false
	}
	r.keyMu.Unlock()
	ref := k.dir + "/" + k.name
	if problem != "" {
		r.o.Log.Error("registry: entry failing: its stored secret cannot be decrypted with this hub's keys (ingest and signing for it answer 503 until fixed; see /readyz)",
			"entry", ref, "err", strings.TrimPrefix(problem, undecryptable("")))
	} else {
		r.o.Log.Info("registry: entry's stored secret decrypts again", "entry", ref, "was", strings.TrimPrefix(old, undecryptable("")))
	}
	return true
}

// secretProblem is checkRow, recorded with noteSecret when the registry
// tracks secret health (Options.SecretHealth).
func (r *Registry) secretProblem(row *entryRow) string {
	if !r.o.SecretHealth {
		return ""
	}
	p := ""
	if row.RemovedAt == nil {
		p = r.checkRow(row)
	}
	r.noteSecret(key{row.Direction, row.Name}, p)
	return p
}

// CheckSecrets tries to decrypt every stored secret of every entry with
// this process's keys and returns the entries that fail, by direction and
// name. An entry's change of state (failing, or fixed) is logged once and
// shows at once in its flags and the failing gauge. /readyz calls it.
func (r *Registry) CheckSecrets(ctx context.Context) ([]SecretProblem, error) {
	var rows []entryRow
	err := r.o.Store.DB.WithContext(ctx).
		Where("removed_at IS NULL AND (secret_current IS NOT NULL OR secret_previous IS NOT NULL)").
		Order("direction, name").Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("check registry secrets: %w", err)
	}
	var out []SecretProblem
	seen := make(map[key]bool, len(rows))
	for i := range rows {
		row := &rows[i]
		k := key{row.Direction, row.Name}
		seen[k] = true
		p := r.checkRow(row)
		if p != "" {
			out = append(out, SecretProblem{Direction: row.Direction, Name: row.Name, Error: p})
		}
		if r.o.SecretHealth && r.noteSecret(k, p) {
			r.view(ctx, row) // sets the failing gauge from every cause
		}
	}
	if r.o.SecretHealth {
		r.keyMu.Lock()
		var gone []key
		for k := range r.keyProblems {
			if !seen[k] {
				gone = append(gone, k)
			}
		}
		r.keyMu.Unlock()
		for _, k := range gone { // erased, removed or no longer encrypted
			if r.noteSecret(k, "") {
				r.refreshEntry(ctx, k)
			}
		}
	}
	return out, nil
}

// refreshEntry recomputes one entry's view, so a change of its secret's health
// is noticed (and logged) at once; the gauges are read at scrape time.
func (r *Registry) refreshEntry(ctx context.Context, k key) {
	if row, err := find(r.o.Store.DB.WithContext(ctx), k.dir, k.name, false); err == nil {
		r.view(ctx, row)
	}
}

// RekeyResult is what Rekey did.
type RekeyResult struct {
	// Rekeyed counts the entries whose secrets were re-encrypted.
	Rekeyed int `json:"rekeyed"`
	// Current counts the entries already wholly under the current key.
	Current int `json:"current"`
	// Failed lists the entries whose secrets could not be decrypted; they
	// are left as they were.
	Failed []SecretProblem `json:"failed"`
	// KeyID is the current key's id, which now seals every other entry.
	KeyID string `json:"key_id"`
}

// Rekey re-encrypts every stored secret (current and previous, of every
// entry, removed ones included, since a removed entry comes back with its
// secrets when the config declares it again) under the keyring's current
// key, while the older keys it holds still decrypt. The secrets
// themselves, their versions and their overlaps do not change. Each
// re-encrypted entry is audited as registry.rekey. Afterwards the old
// keys may be dropped. An entry that does not decrypt is reported in
// Failed and left alone; the others are still rekeyed.
func (r *Registry) Rekey(ctx context.Context, actor string) (RekeyResult, error) {
	if err := r.needKey("rekey"); err != nil {
		return RekeyResult{}, err
	}
	res := RekeyResult{Failed: []SecretProblem{}, KeyID: r.o.Keys.CurrentID()}
	var ids []int64
	err := r.o.Store.DB.WithContext(ctx).Model(&entryRow{}).
		Where("secret_current IS NOT NULL OR secret_previous IS NOT NULL").Order("id").Pluck("id", &ids).Error
	if err != nil {
		return res, fmt.Errorf("rekey: %w", err)
	}
	for _, id := range ids {
		var (
			done    bool
			problem string
			ref     [2]string
		)
		err := r.o.Store.Tx(ctx, func(tx *gorm.DB) error {
			var row entryRow
			if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).First(&row, id).Error; err != nil {
				return err
			}
			ref = [2]string{row.Direction, row.Name}
			before := row.meta()
			var from []string
			for _, ct := range []**string{&row.SecretCurrent, &row.SecretPrevious} {
				if *ct == nil {
					continue
				}
				kid, err := keyring.KeyIDOf(**ct)
				if err != nil {
					problem = undecryptable(err.Error())
					return nil
				}
				if kid == r.o.Keys.CurrentID() {
					continue
				}
				plain, err := r.o.Keys.Open(**ct, row.aad())
				if err != nil {
					problem = undecryptable(err.Error())
					return nil
				}
				sealed, err := r.o.Keys.Seal(plain, row.aad())
				if err != nil {
					return err
				}
				*ct = &sealed
				if !slices.Contains(from, kid) {
					from = append(from, kid)
				}
			}
			if len(from) == 0 {
				return nil
			}
			row.UpdatedAt = r.now()
			if err := tx.Save(&row).Error; err != nil {
				return err
			}
			done = true
			return r.audit(tx, actor, "registry.rekey", &row, before, row.meta(),
				fmt.Sprintf("secrets re-encrypted from key %s to key %s", strings.Join(from, ", "), r.o.Keys.CurrentID()))
		})
		switch {
		case err != nil:
			return res, fmt.Errorf("rekey %s/%s: %w", ref[0], ref[1], err)
		case problem != "":
			res.Failed = append(res.Failed, SecretProblem{Direction: ref[0], Name: ref[1], Error: problem})
		case done:
			res.Rekeyed++
		default:
			res.Current++
		}
	}
	r.invalidate()
	return res, nil
}
