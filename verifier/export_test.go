package verifier

// PendingBytes is the pending-session cache's size (tests).
func (s *Service) PendingBytes() int64 { return s.pendingBytes.Load() }

// TrustCacheBytes are the trust caches' sizes (tests).
func (s *Service) TrustCacheBytes() (issuers, keys, lists int64) {
	s.trust.mu.Lock()
	defer s.trust.mu.Unlock()
	return s.trust.issuers.bytes(), s.trust.keys.bytes(), s.trust.lists.bytes()
}
