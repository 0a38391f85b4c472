package esl

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Call is one call FreeSWITCH handed to the daemon. Its methods are steps
// of a call flow; each waits at most until its context's deadline (and never
// longer than the server's reply timeout for the command reply itself) and
// returns ErrHungUp as soon as the caller hangs up. A Call is used by one
// goroutine at a time.
type Call struct {
	ChannelData

	s            *session
	replyTimeout time.Duration

	eventsOn bool // "myevents" acknowledged
	answered bool
	// fallbackCause is the cause the server kills the call with when its
	// flow fails part way; "" means NORMAL_CLEARING.
	fallbackCause string
	executed      bool // an application was sent to the channel
	handedBack    bool // the call went back to the dialplan
}

// SetFallbackCause names the hangup cause to use if the flow fails part way
// and the server has to end the call itself, so that a refused call is
// refused with its own cause (OUTGOING_CALL_BARRED, say) even then.
func (c *Call) SetFallbackCause(cause string) {
	c.fallbackCause = cause
}

// HungUp reports whether the channel has hung up.
func (c *Call) HungUp() bool {
	return c.s.isHungUp()
}

// HandedBack reports whether the call went back to FreeSWITCH's dialplan
// through HandBack or Transfer.
func (c *Call) HandedBack() bool {
	return c.handedBack
}

// HandBack returns the call to the dialplan: "resume", then (once the
// handler returns) the server closes the connection. The recordings show
// this is the one reliable way: a close alone, or "exit", right after
// "connect" leaves the call stranded in the socket application.
func (c *Call) HandBack(ctx context.Context) error {
	ctx, cancel := c.replyContext(ctx)
	defer cancel()

	if _, err := c.s.command(ctx, rawCommand("resume")); err != nil {
		return fmt.Errorf("resume: %w", err)
	}
	c.handedBack = true
	return nil
}

// Answer answers the call; answering an answered call does nothing.
func (c *Call) Answer(ctx context.Context) error {
	if c.answered {
		return nil
	}
	if _, err := c.execute(ctx, "answer", ""); err != nil {
		return err
	}
	c.answered = true
	return nil
}

// PreAnswer opens early media without answering, so a prompt can be heard
// while the call is still refused in the end.
func (c *Call) PreAnswer(ctx context.Context) error {
	_, err := c.execute(ctx, "pre_answer", "")
	return err
}

// Play plays a sound file or tone stream and waits until it has played.
func (c *Call) Play(ctx context.Context, file string) error {
	_, err := c.execute(ctx, "playback", file)
	return err
}

// Execute runs any dialplan application and waits for it to complete.
func (c *Call) Execute(ctx context.Context, app, arg string) error {
	_, err := c.execute(ctx, app, arg)
	return err
}

// Set sets a channel variable.
func (c *Call) Set(ctx context.Context, name, value string) error {
	_, err := c.execute(ctx, "set", name+"="+value)
	return err
}

// Unset removes a channel variable.
func (c *Call) Unset(ctx context.Context, name string) error {
	_, err := c.execute(ctx, "unset", name)
	return err
}

// Transfer sends the call to another place in the dialplan, for example
// "*98 XML default". The call then no longer needs this connection.
func (c *Call) Transfer(ctx context.Context, destination string) error {
	if _, err := c.execute(ctx, "transfer", destination); err != nil {
		return err
	}
	c.handedBack = true
	return nil
}

// Hangup hangs the call up with a FreeSWITCH cause name such as
// OUTGOING_CALL_BARRED, and waits until the channel reports the hangup.
// A call that has already hung up is not an error.
func (c *Call) Hangup(ctx context.Context, cause string) error {
	if c.HungUp() {
		return nil
	}
	_, err := c.execute(ctx, "hangup", cause)
	if err == nil || errors.Is(err, ErrHungUp) {
		return nil
	}
	return err
}

// Kill hangs the call up at once through "api uuid_kill", even while an
// application is running or after a reply went missing, and waits until the
// channel reports the hangup. It is the way out of a call whose flow failed
// part way; the connection takes no further commands afterwards.
func (c *Call) Kill(ctx context.Context, cause string) error {
	ctx, cancel := c.replyContext(ctx)
	defer cancel()

	c.s.broken = true // the reply to this command is never read
	cmd := "api uuid_kill " + c.UUID + " " + cause
	c.s.log.Debug("esl command", "command", cmd)
	if err := c.s.write(cmd); err != nil {
		return fmt.Errorf("uuid_kill: %w", err)
	}
	select {
	case <-c.s.hungUp:
		return nil
	case <-c.s.readDone:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("uuid_kill: %w", ErrTimeout)
	}
}

// DigitRequest describes one play_and_get_digits prompt.
type DigitRequest struct {
	Min, Max    int           // digits accepted
	Timeout     time.Duration // wait for each digit, the first one after the prompt
	Terminators string        // keys that end the input, such as "#"
	Prompt      string        // file played first
	Invalid     string        // file played after bad input; "" for none
	Variable    string        // channel variable FreeSWITCH leaves the digits in
}

// ErrNoInput means the caller entered nothing usable: too few digits, or
// nothing before the timeout.
var ErrNoInput = errors.New("no valid input")

// CollectDigits plays the prompt once and collects Min to Max digits. The
// digits never leave FreeSWITCH except in the completion event read here.
// No regexp is passed: FreeSWITCH logs the input it tests against one, so
// the input is checked here instead. The variable and its
// _invalid twin are unset again at once, so the input reaches no later
// event and no CDR. A caller who hangs up mid-entry is the exception:
// FreeSWITCH runs nothing after a hangup, so that input stays in the
// channel's variables.
func (c *Call) CollectDigits(ctx context.Context, r DigitRequest) (string, error) {
	invalid := r.Invalid
	if invalid == "" {
		invalid = "silence_stream://250"
	}
	arg := strings.Join([]string{
		strconv.Itoa(r.Min), strconv.Itoa(r.Max), "1",
		strconv.FormatInt(r.Timeout.Milliseconds(), 10), r.Terminators,
		r.Prompt, invalid, r.Variable,
	}, " ")

	hs, err := c.execute(ctx, "play_and_get_digits", arg)
	if err != nil {
		return "", err
	}
	for _, name := range []string{r.Variable, r.Variable + "_invalid"} {
		if err := c.Unset(ctx, name); err != nil {
			return "", fmt.Errorf("unset digits: %w", err)
		}
	}

	digits := hs.get("variable_" + r.Variable)
	if hs.get("variable_read_result") != "success" || len(digits) < r.Min || len(digits) > r.Max || !allDigits(digits) {
		return "", ErrNoInput
	}
	return digits, nil
}

// execute turns on the channel's events before the first application: the
// common path, handing the call straight back, never needs them.
func (c *Call) execute(ctx context.Context, app, arg string) (headers, error) {
	// From here on the call is being acted on: if this fails, the server
	// must end it rather than hand it back (a refused call stays refused).
	c.executed = true
	if !c.eventsOn {
		rctx, cancel := c.replyContext(ctx)
		_, err := c.s.command(rctx, rawCommand("myevents"))
		cancel()
		if err != nil {
			return nil, fmt.Errorf("myevents: %w", err)
		}
		c.eventsOn = true
	}

	hs, err := c.s.execute(ctx, c.UUID, app, arg, c.replyTimeout)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", app, err)
	}
	return hs, nil
}

// replyContext bounds a wait for a single command reply.
func (c *Call) replyContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, c.replyTimeout)
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
