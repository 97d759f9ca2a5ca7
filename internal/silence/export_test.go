package silence

// ForgetCompiled empties the compiled-silence cache, as in a process that
// has never seen the silences (another replica's).
func ForgetCompiled() {
	cache.mu.Lock()
	defer cache.mu.Unlock()
	clear(cache.m)
}
