// Package site is what every door of picbed's HTTP side shares: the Chevereto
// API, the web upload page, the other API dialects. A Site holds the
// settings an admin can change while the server runs, builds the public
// URLs of images and pages, checks API keys (and throttles addresses that
// guess them), counts uploads per address (flood limits), reads upload
// forms within their limits, and hands uploads to ingest.
//
// It speaks no dialect: its refusals are typed errors (errors.go and
// ingest's), which each door maps to its own wire format.
package site
