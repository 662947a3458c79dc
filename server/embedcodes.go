package server

import (
	"encoding/json"
	"net/http"
	"path"

	"picbed/store"
)

// embedImage is one image as the embed-code panels of the upload results,
// album pages and viewer pages need it (ui/static/embed.js). Delete is set
// only for the image's owner.
type embedImage struct {
	ID             string `json:"id"`
	Title          string `json:"title"`
	Filename       string `json:"filename"`
	Viewer         string `json:"viewer"`
	URL            string `json:"url"`
	Medium         string `json:"medium,omitempty"`
	MediumFilename string `json:"medium_filename,omitempty"`
	Thumb          string `json:"thumb"`
	ThumbFilename  string `json:"thumb_filename"`
	Width          int    `json:"width"`
	Height         int    `json:"height"`
	Delete         string `json:"delete,omitempty"`
}

// embedImageOf describes img for the embed codes; withDelete adds its
// delete link (owners only: the link deletes without a login).
func (s *Server) embedImageOf(r *http.Request, img store.Image, withDelete bool) embedImage {
	u := s.site.Links(r, img)
	e := embedImage{
		ID:            s.store.EncodeID(img.ID),
		Title:         img.Title,
		Filename:      path.Base(img.File(store.Full)),
		Viewer:        u.Viewer,
		URL:           u.Full,
		Medium:        u.Medium,
		Thumb:         u.Thumb,
		ThumbFilename: path.Base(img.File(store.Thumb)),
		Width:         img.Width,
		Height:        img.Height,
	}
	if u.Medium != "" {
		e.MediumFilename = path.Base(img.File(store.Medium))
	}
	if withDelete {
		e.Delete = u.Delete
	}
	return e
}

// embedJSON is a list of images for a data-images attribute.
func (s *Server) embedJSON(r *http.Request, imgs []store.Image, withDelete func(store.Image) bool) string {
	out := make([]embedImage, 0, len(imgs))
	for _, img := range imgs {
		out = append(out, s.embedImageOf(r, img, withDelete(img)))
	}
	b, _ := json.Marshal(out)
	return string(b)
}
