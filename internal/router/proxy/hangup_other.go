//go:build !linux

package proxy

// Without epoll, a goroutine per request watches for the client's end
// (see frontConn.startWatch).

func (fc *frontConn) watchHangups() {}

func (fc *frontConn) unwatchHangups() {}
