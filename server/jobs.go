package server

import (
	"context"
	"log/slog"
	"time"
)

// expirySweepEvery is how often expired images are deleted. Viewer pages
// already hide an expired image at once; the sweep frees its files.
const expirySweepEvery = time.Minute

// startJobs runs the background jobs until ctx ends; the returned func
// waits for them to stop.
func (s *Server) startJobs(ctx context.Context) func() {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(expirySweepEvery)
		defer t.Stop()
		for {
			s.sweepExpired()
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
		s.forgetImage(img)
		s.log.Info("deleted expired image", slog.Uint64("image_id", img.ID))
	}
}
