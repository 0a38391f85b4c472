package esl

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
)

// Content types FreeSWITCH puts on the frames it sends.
const (
	typeReply      = "command/reply"
	typeAPI        = "api/response"
	typeEventPlain = "text/event-plain"
	typeDisconnect = "text/disconnect-notice"
)

// Frame size limits. The largest real frame is the connect reply of a SIP
// call, about 175 header lines and 7 KB; the limits leave ample room while
// keeping a broken or hostile peer from making us allocate at will: a
// header block is at most 256 KiB, a body 1 MiB.
const (
	readBufferSize = 4 << 10
	maxLineBytes   = 32 << 10
	maxHeaderLines = 2048
	maxHeaderBytes = 256 << 10
	maxBodyBytes   = 1 << 20
)

// header is one "Name: value" line with the value still percent-encoded.
type header struct {
	name, value string
}

// headers is a frame's header block in arrival order. A slice beats a map
// here: frames are parsed once and asked for a handful of names.
type headers []header

// raw returns the still-encoded value of the first header called name
// (compared without regard to case) and whether it is present.
func (h headers) raw(name string) (string, bool) {
	for i := range h {
		if len(h[i].name) == len(name) && strings.EqualFold(h[i].name, name) {
			return h[i].value, true
		}
	}
	return "", false
}

// get returns the decoded value of the header called name, or "".
// FreeSWITCH percent-encodes values (a '+' is sent as %2B), so a value that
// fails to decode is returned as it came rather than dropped.
func (h headers) get(name string) string {
	v, _ := h.raw(name)
	return decode(v)
}

func decode(v string) string {
	if strings.IndexByte(v, '%') < 0 {
		return v
	}
	d, err := url.PathUnescape(v)
	if err != nil {
		return v
	}
	return d
}

// frame is one message from FreeSWITCH: a header block and an optional body.
type frame struct {
	headers headers
	body    []byte
}

func (f *frame) contentType() string {
	v, _ := f.headers.raw("Content-Type")
	return v
}

// errProtocol marks input that is not the event socket protocol; the session
// cannot continue after it.
var errProtocol = errors.New("protocol error")

// readFrame reads one frame. It returns io.EOF only when the peer closed the
// connection between frames.
func readFrame(r *bufio.Reader) (*frame, error) {
	hs, err := readHeaders(r)
	if err != nil {
		return nil, err
	}
	f := &frame{headers: hs}

	length, ok := hs.raw("Content-Length")
	if !ok {
		return f, nil
	}
	n, err := strconv.Atoi(length)
	if err != nil || n < 0 || n > maxBodyBytes {
		return nil, fmt.Errorf("%w: bad Content-Length %.20q", errProtocol, length)
	}
	f.body = make([]byte, n)
	if _, err := io.ReadFull(r, f.body); err != nil {
		return nil, fmt.Errorf("read body: %w", unexpectedEOF(err))
	}
	return f, nil
}

// readHeaders reads "Name: value" lines up to a blank line. Blank lines
// before the first header are skipped, as FreeSWITCH's own parser does.
// Each line becomes one string that its name and value both slice.
func readHeaders(r *bufio.Reader) (headers, error) {
	var hs headers
	total := 0
	for {
		line, err := readLine(r)
		switch {
		case err == io.EOF && len(hs) == 0 && len(line) == 0:
			return nil, io.EOF
		case err == io.EOF:
			return nil, fmt.Errorf("read header: %w", io.ErrUnexpectedEOF)
		case err != nil:
			return nil, err
		}

		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			if len(hs) == 0 {
				continue
			}
			return hs, nil
		}
		if total += len(line); total > maxHeaderBytes || len(hs) == maxHeaderLines {
			return nil, fmt.Errorf("%w: header block over %d lines or %d bytes", errProtocol, maxHeaderLines, maxHeaderBytes)
		}
		text := string(line)
		name, value, ok := strings.Cut(text, ":")
		if !ok {
			return nil, fmt.Errorf("%w: header line without a colon", errProtocol)
		}
		hs = append(hs, header{name: name, value: strings.TrimLeft(value, " ")})
	}
}

// readLine returns the next line, up to maxLineBytes long. The reader's
// buffer can be smaller than that: a long line is gathered piece by piece,
// so an idle connection holds only a small buffer.
func readLine(r *bufio.Reader) ([]byte, error) {
	line, err := r.ReadSlice('\n')
	if err == nil || (err == io.EOF && len(line) == 0) {
		return line, err
	}

	long := append([]byte(nil), line...)
	for errors.Is(err, bufio.ErrBufferFull) {
		if len(long) > maxLineBytes {
			return nil, fmt.Errorf("%w: header line longer than %d bytes", errProtocol, maxLineBytes)
		}
		line, err = r.ReadSlice('\n')
		long = append(long, line...)
	}
	if len(long) > maxLineBytes {
		return nil, fmt.Errorf("%w: header line longer than %d bytes", errProtocol, maxLineBytes)
	}
	if err != nil {
		return nil, fmt.Errorf("read header: %w", unexpectedEOF(err))
	}
	return long, nil
}

// parseEventBody parses the header lines of a text/event-plain body.
func parseEventBody(body []byte) (headers, error) {
	return readHeaders(bufio.NewReader(bytes.NewReader(append(body, '\n'))))
}

func unexpectedEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
