package imagefiles

import (
	"net"
	"syscall"
)

// cork sets or clears TCP_CORK on fc's TCP connection: while set, the
// kernel sends only full packets; clearing it sends what is left.
func (fc *fastConn) cork(on bool) {
	tc, ok := fc.Conn.(*net.TCPConn)
	if !ok {
		return
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return
	}
	v := 0
	if on {
		v = 1
	}
	rc.Control(func(fd uintptr) {
		syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_CORK, v)
	})
}
