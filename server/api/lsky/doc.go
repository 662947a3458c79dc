// Package lsky is picbed's Lsky Pro (兰空图床) door, both versions of its
// API, answered the way a real Lsky Pro answers, key for key and type for
// type, so that PicList's built-in Lsky uploader, picgo-plugin-lankong (V1
// and V2), Obsidian's LskyPro plugin and scripts written for Lsky work
// unchanged:
//
//   - Lsky Pro 2.x (written from 2.1): /api/v1/tokens, /upload, /images,
//     /images/{key}, /albums, /albums/{id}, /profile, /strategies, with
//     "Authorization: Bearer <token>" and the {"status","message","data"}
//     envelope in json_encode's default encoding (phpjson). Refusals are
//     HTTP 200 with status false where Lsky's controllers answer so (upload
//     and token refusals: clients such as picgo-plugin-lankong read
//     body.message only from a 2xx answer), 401, 403 and 429 where its
//     middleware does, and Laravel's pretty-printed {"message"} for 404, 405
//     and 500. CORS as Lsky's config/cors.php allows it (any origin), so a
//     browser-based client (Obsidian) can call it.
//   - Lsky Pro 1.x (written from 1.6.4): POST /api/upload with header (or
//     field) "token" and the file in "image", answered
//     {"code","msg","data","time"} as ThinkPHP writes it, always HTTP 200.
//
// A token is a picbed API key: any key a user made (web page, `picbed key
// create`) is a valid Lsky token, and POST /api/v1/tokens (e-mail or user
// name and password, under the web login's throttle, site.Logins) makes a
// new key for the user. DELETE /api/v1/tokens revokes the key it was called
// with. An upload without a token is a guest upload, allowed only while
// guest uploads are on. Uploads go through site.Upload (flood limits,
// ingest's policies, EXIF stripping, duplicates, default expiry) like every
// other door; refusals of every room are mapped to Lsky's words in one
// place, Describe.
//
// Identifiers: an image's Lsky "key" is its encoded id (the one in viewer
// URLs); an album's Lsky "id" is its integer id, and album_id parameters
// take that or the album's encoded id. "pathname" is the file's path under
// the image base URL, "links.url" its public URL, "links.delete_url"
// picbed's delete link. There is one storage strategy, id 1, named after
// the site.
package lsky
