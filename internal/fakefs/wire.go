package fakefs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Limits on what the app may send, so a runaway peer fails the test instead
// of eating memory.
const (
	maxHeadBytes = 64 << 10
	maxBodyBytes = 1 << 20
)

// goodbye is the body FreeSWITCH sends with a disconnect notice. It is a
// protocol constant (67 bytes, recordings 01, 05b, 09a), kept byte-exact
// because apps may log or length-check it.
const goodbye = "Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n"

// urlUnsafe lists the printable bytes FreeSWITCH percent-encodes in event
// header values. Recordings show '/', '*', '(', ')', ',', '$' and '\” left
// alone, and ':', ' ', '%', '#', '\\', '+', '@', '=', ';', '|', '^' encoded.
const urlUnsafe = "\r\n \"#%&+:;<=>?@[\\]^`{|}"

// errNotCommand marks input that cannot be an event-socket command.
var errNotCommand = errors.New("malformed command")

// header is one "Name: value" line, kept in wire order.
type header struct {
	name  string
	value string
}

// encodeValue percent-encodes v the way FreeSWITCH encodes event header
// values: unsafe and non-printable bytes become %XX in upper-case hex.
func encodeValue(v string) string {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c < 0x20 || c > 0x7e || strings.IndexByte(urlUnsafe, c) >= 0 {
			fmt.Fprintf(&b, "%%%02X", c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// splitCommands takes every complete command off the front of buf and returns
// them with the unconsumed rest. It fails with errNotCommand on input that no
// further bytes could make valid.
func splitCommands(buf []byte) ([]Command, []byte, error) {
	var cmds []Command
	for {
		buf = bytes.TrimLeft(buf, "\r\n")
		cmd, n, err := parseCommand(buf)
		if err != nil {
			return cmds, buf, err
		}
		if n == 0 {
			return cmds, buf, nil
		}
		cmds = append(cmds, cmd)
		buf = buf[n:]
	}
}

// parseCommand parses one command at the start of buf and returns it with the
// number of bytes it used. A zero count means buf does not hold a whole
// command yet.
func parseCommand(buf []byte) (Command, int, error) {
	lines, headLen, ok := headLines(buf)
	if !ok {
		if len(buf) > maxHeadBytes {
			err := fmt.Errorf("%w: header block over %d bytes", errNotCommand, maxHeadBytes)
			return Command{}, 0, err
		}
		return Command{}, 0, nil
	}

	cmd, err := commandFromLines(lines)
	if err != nil {
		return Command{}, 0, err
	}

	size, err := bodySize(cmd.Headers)
	if err != nil || len(buf) < headLen+size {
		return Command{}, 0, err
	}
	cmd.Body = string(buf[headLen : headLen+size])
	return cmd, headLen + size, nil
}

// headLines returns the lines of the header block at the start of buf, with
// '\r' stripped, and the length of the block including its blank line.
func headLines(buf []byte) ([]string, int, bool) {
	var lines []string
	pos := 0
	for {
		i := bytes.IndexByte(buf[pos:], '\n')
		if i < 0 {
			return nil, 0, false
		}
		line := strings.TrimSuffix(string(buf[pos:pos+i]), "\r")
		pos += i + 1
		if line == "" {
			return lines, pos, true
		}
		lines = append(lines, line)
	}
}

// commandFromLines builds a Command from its first line and header lines.
// Header names are lower-cased; a repeated header keeps its last value.
func commandFromLines(lines []string) (Command, error) {
	cmd := Command{Name: strings.TrimSpace(lines[0]), Headers: map[string]string{}}
	for _, line := range lines[1:] {
		name, value, ok := strings.Cut(line, ":")
		name = strings.ToLower(strings.TrimSpace(name))
		if !ok || name == "" {
			return Command{}, fmt.Errorf("%w: header line %q in %q", errNotCommand, line, cmd.Name)
		}
		cmd.Headers[name] = strings.TrimLeft(value, " \t")
	}
	return cmd, nil
}

// bodySize reads the Content-Length header of a command; no header means no
// body.
func bodySize(headers map[string]string) (int, error) {
	raw, ok := headers["content-length"]
	if !ok {
		return 0, nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(raw))
	if err != nil || n < 0 || n > maxBodyBytes {
		return 0, fmt.Errorf("%w: content-length %q", errNotCommand, raw)
	}
	return n, nil
}

// replyFrame is a command/reply frame: two headers and a blank line, with no
// Content-Length and no encoding of the text.
func replyFrame(text string, extra ...header) []byte {
	var b bytes.Buffer
	b.WriteString("Content-Type: command/reply\nReply-Text: " + text + "\n")
	for _, h := range extra {
		b.WriteString(h.name + ": " + h.value + "\n")
	}
	b.WriteString("\n")
	return b.Bytes()
}

// apiFrame is the api/response frame carrying body.
func apiFrame(body string) []byte {
	return fmt.Appendf(nil, "Content-Type: api/response\nContent-Length: %d\n\n%s", len(body), body)
}

// connectFrame is the reply to "connect": the channel data as one
// percent-encoded header block with no Content-Length, the reply's own
// headers last.
func connectFrame(data []header) []byte {
	hs := append(append([]header(nil), data...),
		header{"Content-Type", "command/reply"},
		header{"Reply-Text", "+OK\n"},
		header{"Socket-Mode", "async"},
		header{"Control", "full"},
	)
	return plainBody(hs, "")
}

// eventFrame frames one event in the given format ("plain", "json" or "xml").
// body is an optional event body, announced by a Content-Length header inside
// the event.
func eventFrame(format string, hs []header, body string) []byte {
	if body != "" {
		hs = append(hs, header{"Content-Length", strconv.Itoa(len(body))})
	}

	var payload []byte
	var kind string
	switch format {
	case "json":
		payload, kind = jsonBody(hs, body), "text/event-json"
	case "xml":
		payload, kind = xmlBody(hs, body), "text/event-xml"
	default:
		payload, kind = plainBody(hs, body), "text/event-plain"
	}
	return fmt.Appendf(nil, "Content-Length: %d\nContent-Type: %s\n\n%s", len(payload), kind, payload)
}

// plainBody serialises headers as percent-encoded lines ending in a blank
// line, followed by body.
func plainBody(hs []header, body string) []byte {
	var b bytes.Buffer
	for _, h := range hs {
		b.WriteString(h.name + ": " + encodeValue(h.value) + "\n")
	}
	b.WriteString("\n")
	b.WriteString(body)
	return b.Bytes()
}

// jsonBody serialises headers as one JSON object of unencoded strings, with
// the body under "_body".
func jsonBody(hs []header, body string) []byte {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, h := range hs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(jsonString(h.name))
		b.WriteByte(':')
		b.Write(jsonString(h.value))
	}
	if body != "" {
		b.WriteString(`,"_body":`)
		b.Write(jsonString(body))
	}
	b.WriteByte('}')
	return b.Bytes()
}

// jsonString quotes s as a JSON string without HTML escaping.
func jsonString(s string) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // encoding a string cannot fail
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// xmlBody serialises headers as FreeSWITCH's <event><headers> document with
// percent-encoded values.
func xmlBody(hs []header, body string) []byte {
	var b bytes.Buffer
	b.WriteString("<event>\n  <headers>\n")
	for _, h := range hs {
		fmt.Fprintf(&b, "    <%s>%s</%s>\n", h.name, encodeValue(h.value), h.name)
	}
	b.WriteString("  </headers>\n")
	if body != "" {
		fmt.Fprintf(&b, "  <body>%s</body>\n", encodeValue(body))
	}
	b.WriteString("</event>\n")
	return b.Bytes()
}

// lingerNotice is the disconnect notice FreeSWITCH sends after a hangup when
// the app asked to linger. seconds is -1 for plain "linger".
func lingerNotice(uuid, channelName string, seconds int) []byte {
	return fmt.Appendf(nil, "Content-Type: text/disconnect-notice\n"+
		"Controlled-Session-UUID: %s\n"+
		"Content-Disposition: linger\n"+
		"Channel-Name: %s\n"+
		"Linger-Time: %d\n"+
		"Content-Length: 0\n\n", uuid, channelName, seconds)
}

// disconnectNotice is the notice FreeSWITCH sends right before it closes the
// socket itself.
func disconnectNotice(uuid string) []byte {
	return fmt.Appendf(nil, "Content-Type: text/disconnect-notice\n"+
		"Controlled-Session-UUID: %s\n"+
		"Content-Disposition: disconnect\n"+
		"Content-Length: %d\n\n%s", uuid, len(goodbye), goodbye)
}
