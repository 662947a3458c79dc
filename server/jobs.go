package server

import (
	"context"
	"log/slog"
	"time"
)

// expirySweepEvery is how often expired images are deleted. Viewer pages
// already hide an expired image at once; the sweep frees its files.
const expirySweepEvery = time.Minute

// sessionSweepEvery is how often expired login sessions are deleted. They
// are refused as soon as they expire; the sweep only reclaims their records,
// so it runs rarely to spare the disk a write.
const sessionSweepEvery = time.Hour

// startJobs runs the background jobs until ctx ends; the returned func
// waits for them to stop.
func (s *Server) startJobs(ctx context.Context) func() {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(expirySweepEvery)
		defer t.Stop()
		var lastSessionSweep time.Time
		for {
			s.sweepExpired()
			if now := s.now(); now.Sub(lastSessionSweep) >= sessionSweepEvery {
				lastSessionSweep = now
				if n, err := s.store.DeleteExpiredSessions(now); err != nil {
					s.log.Error("session sweep failed", slog.String("err", err.Error()))
				} else if n > 0 {
					s.log.Info("expired sessions deleted", slog.Int("sessions", n))
				}
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return func() { cancel(); <-done }
}

// expiryBatch bounds the deletions of one sweep so a backlog cannot hold
// the database for long.
const expiryBatch = 100

func (s *Server) sweepExpired() {
	imgs, err := s.store.ExpiredImages(s.now(), expiryBatch)
	if err != nil {
		s.log.Error("expiry sweep failed", slog.String("err", err.Error()))
		return
	}
	for _, img := range imgs {
		if err := s.store.DeleteImage(img.ID); err != nil {
			s.log.Error("delete expired image", slog.Uint64("image_id", img.ID), slog.String("err", err.Error()))
			continue
		}
		s.forgetImages(img)
		s.log.Info("deleted expired image", slog.Uint64("image_id", img.ID))
	}
}
