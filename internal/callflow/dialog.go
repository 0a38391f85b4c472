package callflow

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/phonelock/phonelock/esl"
	"github.com/phonelock/phonelock/internal/metrics"
	"github.com/phonelock/phonelock/policy"
	"github.com/phonelock/phonelock/store"
)

// digitsVariable is the channel variable play_and_get_digits leaves the
// password in; it is unset as soon as it has been read.
const digitsVariable = "phonelock_password"

// dialog runs the feature-code dialog: check the caller may use it, ask
// for the password up to TriesPerCall times, and toggle the block on the
// right one. Every attempt is committed before the caller hears its result.
func (f *Flows) dialog(ctx context.Context, k *call) error {
	result, err := f.runDialog(ctx, k)
	defer f.auditOutcome(k, result)
	if errors.Is(err, esl.ErrHungUp) {
		result = metrics.DialogHungUp
	} else if errors.Is(err, esl.ErrTimeout) || errors.Is(err, context.DeadlineExceeded) {
		result = metrics.DialogTimedOut
	} else if err != nil && result == "" {
		result = metrics.DialogError
	}
	k.result = result
	f.metrics.Dialogs.WithLabelValues(result).Inc()
	return err
}

func (f *Flows) runDialog(ctx context.Context, k *call) (string, error) {
	start := policy.DialogStart(policy.Caller{
		Known:       k.found && k.callerID != "",
		Protection:  k.caller.Protection,
		PasswordSet: k.caller.PasswordSet(),
		LockedOut:   k.caller.LockedOut(f.now()),
	})

	// Callers key their password even over a "not available" tone: mask
	// every key of every feature-code call in the CDR.
	if err := f.step(ctx, k, k.cfg.StepTimeout, maskDialedDigits(k)); err != nil {
		return "", err
	}
	switch start {
	case policy.NotAvailable:
		return metrics.DialogNotAvailable, f.announce(ctx, k, k.cfg.Prompts.NotAvailable)
	case policy.LockedOut:
		f.audit(k, "star11_denied_locked_out", "locked_out")
		return metrics.DialogLockedOut, f.announce(ctx, k, k.cfg.Prompts.LockedOut)
	}

	if err := f.step(ctx, k, k.cfg.StepTimeout, k.Answer); err != nil {
		return "", err
	}
	for try := 1; try <= k.cfg.TriesPerCall; try++ {
		result, done, err := f.attempt(ctx, k)
		if err != nil || done {
			return result, err
		}
	}
	return metrics.DialogWrongPassword, f.announce(ctx, k, k.cfg.Prompts.Goodbye)
}

// maskDialedDigits makes FreeSWITCH write X for every key pressed on this
// call in the CDR's digits_dialed, which otherwise lists the password
// (switch_channel.c applies digits_dialed_filter when the call ends).
func maskDialedDigits(k *call) func(context.Context) error {
	return func(ctx context.Context) error {
		return k.Set(ctx, "digits_dialed_filter", ".+")
	}
}

// attempt asks for the password once. done is true when the dialog is over
// (toggled, or locked out); otherwise the caller may try again.
func (f *Flows) attempt(ctx context.Context, k *call) (result string, done bool, err error) {
	digits, err := f.collectPassword(ctx, k)
	if errors.Is(err, esl.ErrNoInput) {
		return "", false, f.play(ctx, k, k.cfg.Prompts.WrongPassword)
	}
	if err != nil {
		return "", true, err
	}

	ext, res, err := f.verify(k, digits)
	if err != nil {
		f.log.Error("store write failed during the feature-code dialog", "uuid", k.UUID, "caller", k.callerID, "error", err)
		return metrics.DialogError, true, errors.Join(err, f.announce(ctx, k, k.cfg.Prompts.Goodbye))
	}
	k.caller = ext

	switch res {
	case store.AttemptToggled:
		if ext.Blocked {
			return metrics.DialogBlocked, true, f.announce(ctx, k, k.cfg.Prompts.NowBlocked)
		}
		return metrics.DialogUnblocked, true, f.announce(ctx, k, k.cfg.Prompts.NowUnrestricted)
	case store.AttemptLockedOut:
		return metrics.DialogLockedOut, true, f.announce(ctx, k, k.cfg.Prompts.LockedOut)
	default:
		return "", false, f.play(ctx, k, k.cfg.Prompts.WrongPassword)
	}
}

func (f *Flows) collectPassword(ctx context.Context, k *call) (string, error) {
	cfg := k.cfg
	wait := cfg.PromptTimeout + (policy.MaxPasswordDigits+1)*cfg.DigitTimeout
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()

	return k.CollectDigits(ctx, esl.DigitRequest{
		Min:         policy.MinPasswordDigits,
		Max:         policy.MaxPasswordDigits,
		Timeout:     cfg.DigitTimeout,
		Terminators: "#",
		Prompt:      cfg.Prompts.EnterPassword,
		Variable:    digitsVariable,
	})
}

// verify checks the password against the hash read at the start of the
// call and records the attempt. If an operator changed the password in the
// meantime, the check is repeated once against the new hash.
func (f *Flows) verify(k *call, password string) (store.Extension, store.AttemptResult, error) {
	ext, res, err := f.record(k, password)
	if !errors.Is(err, store.ErrStalePassword) {
		return ext, res, err
	}

	fresh, err := f.store.Get(k.callerID)
	if err != nil {
		return ext, res, fmt.Errorf("reload extension: %w", err)
	}
	k.caller = fresh
	return f.record(k, password)
}

func (f *Flows) record(k *call, password string) (store.Extension, store.AttemptResult, error) {
	hash := k.caller.PasswordHash
	ok := store.CheckPassword(hash, password)
	actor := store.Actor{Name: "phone", Source: "phone", Addr: k.ChannelName}

	start := f.now()
	ext, res, err := f.store.RecordAttempt(k.callerID, hash, ok, k.cfg.Lockout, actor)
	f.metrics.ObserveStore("record_attempt", start, err)
	if err != nil {
		return ext, res, fmt.Errorf("record attempt: %w", err)
	}
	if !ok {
		f.metrics.WrongPasswords.Inc()
	}
	return ext, res, nil
}

// announce answers if needed, plays prompt and hangs up normally.
func (f *Flows) announce(ctx context.Context, k *call, prompt string) error {
	if prompt != "" {
		if err := f.step(ctx, k, k.cfg.StepTimeout, k.Answer); err != nil {
			return err
		}
		if err := f.play(ctx, k, prompt); err != nil {
			return err
		}
	}
	return f.hangup(ctx, k, "NORMAL_CLEARING")
}

// auditOutcome records the dialog outcomes the store does not record by
// itself (it audits every counted attempt and every toggle), so the trail
// has a line for every *11 call.
func (f *Flows) auditOutcome(k *call, result string) {
	switch result {
	case metrics.DialogNotAvailable, metrics.DialogHungUp, metrics.DialogTimedOut, metrics.DialogError:
		if k.callerID != "" {
			f.audit(k, "star11_"+result, result)
		}
	}
}

// audit records a dialog event that changes no state. A failure is logged:
// the caller is told the same either way.
func (f *Flows) audit(k *call, action, result string) {
	err := f.store.AppendAudit(store.AuditRecord{
		Time: f.now().UTC().Truncate(time.Millisecond), Extension: k.callerID,
		Action: action, Actor: "phone", Source: "phone", Addr: k.ChannelName, Result: result,
	})
	if err != nil {
		f.log.Error("audit write failed", "uuid", k.UUID, "caller", k.callerID, "error", err)
	}
}
