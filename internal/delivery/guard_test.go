package delivery

import (
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestRestricted(t *testing.T) {
	t.Parallel()
	for addr, want := range map[string]string{
		"127.0.0.1": "loopback", "::1": "loopback", "10.1.2.3": "private", "172.16.0.1": "private",
		"192.168.1.1": "private", "fd12::1": "private", "169.254.169.254": "cloud metadata",
		"fd00:ec2::254": "cloud metadata", "169.254.1.1": "link-local", "fe80::1": "link-local",
		"0.0.0.0": "unspecified", "100.64.0.1": "shared (carrier-grade NAT)", "::ffff:10.0.0.1": "private",
		"8.8.8.8": "", "2606:4700::1111": "",
		"64:ff9b::a9fe:a9fe": "cloud metadata (via NAT64)", "64:ff9b::a00:1": "private (via NAT64)",
		"64:ff9b::808:808": "", "2002:c0a8:101::1": "private (via 6to4)", "2002:808:808::1": "",
		"198.18.0.1": "benchmarking", "240.0.0.1": "reserved", "255.255.255.255": "reserved",
	} {
		require.Equal(t, want, restricted(netip.MustParseAddr(addr)), addr)
	}
	ctl := guard("t", false, []netip.Prefix{netip.MustParsePrefix("10.9.0.0/16")})
	require.NoError(t, ctl("tcp", "8.8.8.8:443", nil))
	require.NoError(t, ctl("tcp", "10.9.1.1:443", nil), "allowlisted")
	err := ctl("tcp", "[::ffff:169.254.169.254]:80", nil)
	var re *RefusedError
	require.ErrorAs(t, err, &re)
	require.True(t, re.Refused())
	require.NoError(t, guard("t", true, nil)("tcp", "127.0.0.1:80", nil), "allow_private_network")
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	s := []time.Duration{5 * time.Second, 30 * time.Second, time.Hour}
	require.Equal(t, 5*time.Second, backoff(s, 0, 1))
	require.Equal(t, 30*time.Second, backoff(s, 0, 2))
	require.Equal(t, time.Hour, backoff(s, 0, 3))
	require.Equal(t, time.Hour, backoff(s, 0, 40), "the last entry repeats")
	for range 100 {
		d := backoff(s, 0.2, 2)
		require.True(t, d >= 24*time.Second && d <= 36*time.Second, d)
	}
}

func TestBreaker(t *testing.T) {
	t.Parallel()
	b := &breaker{threshold: 2, probe: time.Minute, disableAfter: time.Hour}
	now := time.Unix(0, 0)
	ok, _ := b.allow(now, time.Second)
	require.True(t, ok)
	b.done(now, false)
	b.done(now, false)
	ok, wait := b.allow(now.Add(time.Second), time.Second)
	require.False(t, ok)
	require.Equal(t, 59*time.Second, wait)
	ok, _ = b.allow(now.Add(time.Minute), 10*time.Second)
	require.True(t, ok, "one probe after probe_interval")
	ok, wait = b.allow(now.Add(time.Minute+time.Second), 10*time.Second)
	require.False(t, ok, "only one probe at a time")
	require.Equal(t, probeRecheck, wait, "the others look again soon, not when the probe's window ends")
	b.done(now.Add(time.Minute+2*time.Second), true) // the probe succeeds
	ok, _ = b.allow(now.Add(time.Minute+2*time.Second+probeRecheck), 10*time.Second)
	require.True(t, ok, "closed: the others go")
	b.done(now, false)
	b.done(now, false)
	disabled, _ := b.done(now.Add(2*time.Hour), false)
	require.True(t, disabled)
	require.Equal(t, "disabled", b.state())
	_, enabled := b.done(now.Add(3*time.Hour), true)
	require.True(t, enabled)
	require.Equal(t, "closed", b.state())
}
