// Package ingest is picbed's upload core, the same for every door: the
// Chevereto API, the web upload page, the other API dialects and the
// importers. A door turns its request into a Request (who uploads, where the
// bytes come from, the text fields and the site's policies) and calls
// Ingester.Ingest, which stages the bytes, applies the duplicates policy,
// waits for a decode slot, derives the thumbnail and medium with imaging,
// and commits the image with store. It knows no HTTP: a door maps the typed
// errors of this package (errors.go) to its own wire format.
//
// # Invariants
//
// Ingest never decodes while bytes are still arriving: a Source is staged
// completely into the store.Upload first. At most Config.DecodeWorkers
// decodes run at once; the others wait for a slot until their context ends.
// Nothing is stored unless the whole image was derived and committed: every
// staging file belongs to the caller's store.Upload, which the caller
// discards.
package ingest
