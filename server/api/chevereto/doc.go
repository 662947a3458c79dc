// Package chevereto is picbed's Chevereto API v1 door: POST (and GET)
// /api/1/upload, answered the way a real Chevereto V3/V4 answers, byte for
// byte where clients care, so that PicGo, PicList, ShareX, Typora and
// scripts written for Chevereto work unchanged. The same route takes
// ImgBB's field name "image" and then answers in ImgBB's envelope.
//
// It reads the request (the key, the form, the source), builds an
// ingest.Request, runs it through site.Upload and writes the answer: JSON
// in PHP's encoding (phpjson), or the bare URL or redirect of format=txt and
// format=redirect. Refusals of every room are mapped to Chevereto's codes
// and messages in one place, Describe. The web upload page shares the form,
// the answer and the codes (ReadForm, Request, WriteSuccess, Describe).
package chevereto
