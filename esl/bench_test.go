package esl

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
)

// sipConnectReply is a connect reply the size of a real SIP call's: about
// 170 percent-encoded headers, 7 KB, with the reply headers last.
var sipConnectReply = func() string {
	var b strings.Builder
	b.WriteString("Event-Name: CHANNEL_DATA\nUnique-ID: 6f1c2a9e-0d4b-4c4e-9a55-3b1f0e2d7c11\n")
	b.WriteString("Channel-Name: sofia/internal/1001%40example.com\nCaller-Destination-Number: 1002\n")
	b.WriteString("variable_user_name: 1001\nvariable_domain_name: example.com\n")
	for i := 0; i < 165; i++ {
		fmt.Fprintf(&b, "variable_filler_%03d: some%%20value%%3A%%20with%%20encoding%%20%d\n", i, i)
	}
	b.WriteString("Content-Type: command/reply\nReply-Text: %2BOK%0A\nSocket-Mode: async\nControl: full\n\n")
	return b.String()
}()

// BenchmarkHandBack times the whole allowed path as FreeSWITCH sees it:
// dial, connect and its channel data, resume, close. "baseline" is the
// least any server can do on the same exchange (read a command, write the
// recorded reply, no parsing); "esl" is this package. The difference is
// what phonelock's session layer adds to every allowed call.
func BenchmarkHandBack(b *testing.B) {
	b.Run("baseline", func(b *testing.B) {
		benchAllowed(b, startBaseline(b))
	})
	b.Run("esl", func(b *testing.B) {
		addr := startBenchServer(b, func(ctx context.Context, c *Call) {
			if err := c.HandBack(ctx); err != nil {
				b.Error(err)
			}
		})
		benchAllowed(b, addr)
	})
}

// benchAllowed plays FreeSWITCH for b.N allowed calls against addr.
func benchAllowed(b *testing.B, addr string) {
	b.ReportAllocs()
	for b.Loop() {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			b.Fatal(err)
		}
		r := bufio.NewReader(conn)
		exchange(b, conn, r, "connect", sipConnectReply)
		exchange(b, conn, r, "resume", okReply)
		if _, err := io.Copy(io.Discard, r); err != nil {
			b.Fatal(err)
		}
		conn.Close()
	}
}

func exchange(b *testing.B, conn net.Conn, r *bufio.Reader, want, reply string) {
	cmd, err := readCommand(r)
	if err != nil || !strings.HasPrefix(string(cmd), want) {
		b.Fatalf("got %q (%v), want %s", cmd, err, want)
	}
	if _, err := io.WriteString(conn, reply); err != nil {
		b.Fatal(err)
	}
}

// startBaseline serves the allowed exchange with no protocol handling.
func startBaseline(b *testing.B) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				r := bufio.NewReader(conn)
				io.WriteString(conn, "connect\n\n")
				readUntilBlank(r)
				io.WriteString(conn, "resume\n\n")
				readUntilBlank(r)
			}()
		}
	}()
	return ln.Addr().String()
}

func readUntilBlank(r *bufio.Reader) {
	for {
		line, err := r.ReadString('\n')
		if err != nil || line == "\n" {
			return
		}
	}
}

func startBenchServer(b *testing.B, h Handler) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &Server{Handler: h, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	go srv.Serve(ln)
	b.Cleanup(func() { srv.Shutdown(context.Background()) })
	return ln.Addr().String()
}
