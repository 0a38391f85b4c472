package esl

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/phonelock/phonelock/internal/recordings"
)

func readRecording(t *testing.T, name string) []byte {
	t.Helper()
	return recordings.Read(t, name)
}

// TestReadFrame_recordedConnectReplies parses the connect replies of real
// SIP and loopback calls and checks who the caller is.
func TestReadFrame_recordedConnectReplies(t *testing.T) {
	tests := []struct {
		file                      string
		user, domain, dest, cidNo string
	}{
		{"11b_connect_reply_sip_1001_to_1002.fs-to-app.bin", "1001", "127.0.0.1", "1002", "1001"},
		// The caller forged its From header (1005) but authenticated as 1001.
		{"11e_connect_reply_sip_from1005_auth1001.fs-to-app.bin", "1001", "127.0.0.1", "", "1005"},
		// Loopback calls carry no authenticated user at all.
		{"11c_connect_reply_loopback.fs-to-app.bin", "", "", "*11", "1001"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			f, err := readFrame(bufio.NewReader(bytes.NewReader(readRecording(t, tt.file))))
			if err != nil {
				t.Fatal(err)
			}
			if got := f.contentType(); got != typeReply {
				t.Fatalf("content type = %q, want %q", got, typeReply)
			}
			if err := replyError(f); err != nil {
				t.Fatalf("connect reply is not +OK: %v", err)
			}

			d := newChannelData(f.headers)
			if d.UUID == "" || d.ChannelName == "" {
				t.Errorf("UUID %q, channel %q: want both", d.UUID, d.ChannelName)
			}
			if d.UserName != tt.user || d.Domain != tt.domain || d.CallerIDNumber != tt.cidNo {
				t.Errorf("user %q domain %q caller ID %q, want %q %q %q",
					d.UserName, d.Domain, d.CallerIDNumber, tt.user, tt.domain, tt.cidNo)
			}
			if tt.dest != "" && d.Destination != tt.dest {
				t.Errorf("destination %q, want %q", d.Destination, tt.dest)
			}
		})
	}
}

// TestReadFrame_recordedDialog reads every frame FreeSWITCH sent in the
// recorded *11 dialog and checks the digits reach the completion event.
func TestReadFrame_recordedDialog(t *testing.T) {
	r := bufio.NewReader(bytes.NewReader(readRecording(t, "01_full_star11_dialog.fs-to-app.bin")))
	var events, dtmf, notices int
	var digits, result string
	for {
		f, err := readFrame(r)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("frame after %d events: %v", events, err)
		}
		switch f.contentType() {
		case typeEventPlain:
			events++
			hs, err := parseEventBody(f.body)
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case hs.get("Event-Name") == "DTMF":
				dtmf++
			case hs.get("Event-Name") == "CHANNEL_EXECUTE_COMPLETE" && hs.get("Application") == "play_and_get_digits":
				digits, result = hs.get("variable_pl_pin"), hs.get("variable_read_result")
			}
		case typeDisconnect:
			notices++
		}
	}
	if dtmf != 5 || digits != "1234" || result != "success" || notices == 0 {
		t.Errorf("dtmf %d digits %q result %q notices %d; want 5, 1234, success, >0", dtmf, digits, result, notices)
	}
}

// TestServer_recordedAllow replays FreeSWITCH's side of recording 02c (a
// call handed back with resume) and checks the daemon writes exactly the
// bytes the recorded app wrote: connect, resume, close.
func TestServer_recordedAllow(t *testing.T) {
	fsSide := readRecording(t, "02c_allow_resume_then_close.fs-to-app.bin")
	want := readRecording(t, "02c_allow_resume_then_close.app-to-fs.bin")

	addr := startServer(t, func(ctx context.Context, c *Call) {
		if err := c.HandBack(ctx); err != nil {
			t.Errorf("HandBack: %v", err)
		}
	})
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	// FreeSWITCH answers each command as it arrives: write the recorded
	// replies one frame at a time, after reading each command.
	r := bufio.NewReader(bytes.NewReader(fsSide))
	cmds := bufio.NewReader(conn)
	var got []byte
	for {
		cmd, err := readCommand(cmds)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, cmd...)
		reply := nextRawFrame(t, r)
		if _, err := conn.Write(reply); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(got, want) {
		t.Errorf("daemon wrote %q, recorded app wrote %q", got, want)
	}
}

// readCommand reads one command up to its blank line.
func readCommand(r *bufio.Reader) ([]byte, error) {
	var cmd []byte
	for {
		line, err := r.ReadBytes('\n')
		cmd = append(cmd, line...)
		if err != nil {
			if len(cmd) == 0 {
				return nil, io.EOF
			}
			return nil, err
		}
		if len(line) == 1 {
			return cmd, nil
		}
	}
}

// nextRawFrame returns the bytes of the next header-only frame.
func nextRawFrame(t *testing.T, r *bufio.Reader) []byte {
	t.Helper()
	var out []byte
	for {
		line, err := r.ReadBytes('\n')
		if err != nil {
			t.Fatalf("recording ran out: %v", err)
		}
		out = append(out, line...)
		if len(line) == 1 {
			return out
		}
	}
}

// startServer serves handler on a loopback port until the test ends.
func startServer(t *testing.T, handler Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &Server{
		Handler:        handler,
		Log:            slog.New(slog.NewTextHandler(io.Discard, nil)),
		ConnectTimeout: 2 * time.Second,
		ReplyTimeout:   2 * time.Second,
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-done; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve returned %v, want ErrServerClosed", err)
		}
	})
	return ln.Addr().String()
}
