//go:build !linux

package server

// cork does nothing where TCP_CORK does not exist.
func (fc *fastConn) cork(on bool) {}
