//go:build !linux

package imagefiles

// cork does nothing where TCP_CORK does not exist.
func (fc *fastConn) cork(on bool) {}
