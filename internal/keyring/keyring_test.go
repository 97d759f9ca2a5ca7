package keyring_test

import (
	"crypto/rand"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub/internal/keyring"
)

func newKey(t *testing.T) []byte {
	t.Helper()
	k := make([]byte, 32)
	_, err := rand.Read(k)
	require.NoError(t, err)
	return k
}

func TestSealOpen(t *testing.T) {
	t.Parallel()
	kr, err := keyring.New(newKey(t))
	require.NoError(t, err)
	const plain = "whsec_very-secret-value"
	ct, err := kr.Seal(plain, "registry/inbound/am")
	require.NoError(t, err)
	require.NotContains(t, ct, plain)
	require.True(t, strings.HasPrefix(ct, "v1:"+kr.CurrentID()+":"), ct)

	again, err := kr.Seal(plain, "registry/inbound/am")
	require.NoError(t, err)
	require.NotEqual(t, ct, again, "a fresh nonce per seal")

	got, err := kr.Open(ct, "registry/inbound/am")
	require.NoError(t, err)
	require.Equal(t, plain, got)

	_, err = kr.Open(ct, "registry/inbound/other")
	require.ErrorContains(t, err, "authentication failed", "a ciphertext moved to another row does not open")

	tampered := ct[:len(ct)-4] + "AAA="
	_, err = kr.Open(tampered, "registry/inbound/am")
	require.Error(t, err)

	_, err = kr.Open("plaintext", "x")
	require.ErrorContains(t, err, "malformed")
}

// A new current key seals; the old one still opens what it sealed.
func TestKeyRotation(t *testing.T) {
	t.Parallel()
	oldKey, newKey2 := newKey(t), newKey(t)
	oldRing, err := keyring.New(oldKey)
	require.NoError(t, err)
	ct, err := oldRing.Seal("s3cret", "a")
	require.NoError(t, err)

	ring, err := keyring.New(newKey2, oldKey)
	require.NoError(t, err)
	require.Equal(t, keyring.KeyID(newKey2), ring.CurrentID())
	got, err := ring.Open(ct, "a")
	require.NoError(t, err)
	require.Equal(t, "s3cret", got)

	onlyNew, err := keyring.New(newKey2)
	require.NoError(t, err)
	_, err = onlyNew.Open(ct, "a")
	require.ErrorContains(t, err, keyring.KeyID(oldKey), "the error names the missing key")
}

func TestLoad(t *testing.T) {
	t.Parallel()
	k1, k2 := newKey(t), newKey(t)
	b64 := base64.StdEncoding.EncodeToString

	kr, err := keyring.Load("", "")
	require.NoError(t, err)
	require.Nil(t, kr, "no key configured")

	kr, err = keyring.Load(b64(k1), "")
	require.NoError(t, err)
	require.Equal(t, keyring.KeyID(k1), kr.CurrentID())

	file := filepath.Join(t.TempDir(), "keys")
	require.NoError(t, os.WriteFile(file, []byte("# current first\n"+b64(k2)+"\n\n"+b64(k1)+"\n"), 0o600))
	kr, err = keyring.Load("", file)
	require.NoError(t, err)
	require.Equal(t, keyring.KeyID(k2), kr.CurrentID())
	require.True(t, kr.Has(keyring.KeyID(k1)))

	kr, err = keyring.Load(b64(k1), file)
	require.NoError(t, err)
	require.Equal(t, keyring.KeyID(k1), kr.CurrentID(), "the environment's key wins")

	_, err = keyring.Load(b64([]byte("short")), "")
	require.ErrorContains(t, err, "INCIDENTHUB_SECRET_KEY")
	require.ErrorContains(t, err, "32")
	_, err = keyring.Load("%%%", "")
	require.ErrorContains(t, err, "not base64")

	bad := filepath.Join(t.TempDir(), "bad")
	require.NoError(t, os.WriteFile(bad, []byte(b64(k1)+"\nnope!\n"), 0o600))
	_, err = keyring.Load("", bad)
	require.ErrorContains(t, err, bad+":2")
	_, err = keyring.Load("", filepath.Join(t.TempDir(), "missing"))
	require.ErrorContains(t, err, "secret key file")
}

func TestInsecureDev(t *testing.T) {
	t.Parallel()
	kr := keyring.InsecureDev()
	require.Equal(t, keyring.InsecureDevKeyID, kr.CurrentID())
	ct, err := kr.Seal("x", "a")
	require.NoError(t, err)
	got, err := keyring.InsecureDev().Open(ct, "a")
	require.NoError(t, err, "the dev key is the same in every process")
	require.Equal(t, "x", got)
}
