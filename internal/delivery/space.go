package delivery

// space is the check of free disk space made before a transaction: a
// sender told 452 at MAIL or RCPT (RFC 5321 §4.2.2, RFC 1870 §6.1) does
// not send a whole message only to get the same reply at its end.
type space struct {
	free    func() (int64, error) // bytes free where messages are stored; nil: no check
	minFree int64
}

// SetFreeSpace turns the check on: free reports the bytes available where
// messages are written, and a transaction needs minFree plus one and a
// half times its declared size (SIZE=, RFC 1870), as Postfix asks of its
// queue (queue_minfree, 1.5 × message_size_limit).
func (p *Pipeline) SetFreeSpace(free func() (int64, error), minFree int64) {
	p.space = space{free: free, minFree: minFree}
}

// CheckSpace returns ErrStorage when there is not room for a message of
// size bytes (0: not declared). When the free space cannot be read it
// lets the transaction go on: the write itself will tell.
func (p *Pipeline) CheckSpace(size int64) error {
	if p.space.free == nil {
		return nil
	}
	n, err := p.space.free()
	if err != nil || n >= p.space.minFree+size+size/2 {
		return nil
	}
	p.log.Warn("mail refused: disk space low", "free", n, "need", p.space.minFree+size+size/2)
	return ErrStorage
}
