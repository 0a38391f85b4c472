// Package callflow runs phonelock's call flows: it identifies the calling
// terminal and the called extension of a call handed over by esl, reads
// their state from the store, lets policy decide, and carries the decision
// out: hand the call back, run the feature-code dialog, refuse it, or send it
// to voicemail.
package callflow

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/phonelock/phonelock/esl"
	"github.com/phonelock/phonelock/internal/metrics"
	"github.com/phonelock/phonelock/policy"
	"github.com/phonelock/phonelock/store"
)

// Store is the part of *store.Store the call flows use.
type Store interface {
	GetPair(callerID, calleeID string) (caller, callee store.Extension, callerFound, calleeFound bool, err error)
	Get(id string) (store.Extension, error)
	RecordAttempt(id string, checkedHash []byte, ok bool, p store.AttemptPolicy, actor store.Actor) (store.Extension, store.AttemptResult, error)
	AppendAudit(rec store.AuditRecord) error
}

// Flows handles calls. Its configuration can be swapped while calls run.
type Flows struct {
	store   Store
	log     *slog.Logger
	metrics *metrics.Metrics
	cfg     func() *Config
	now     func() time.Time
}

// New returns call flows over st. cfg is called once per call for the
// configuration in force, so a reload applies from the next call on.
func New(st Store, log *slog.Logger, m *metrics.Metrics, cfg func() *Config) *Flows {
	return &Flows{store: st, log: log, metrics: m, cfg: cfg, now: time.Now}
}

// call is one call being handled: what is known about it and its outcome.
type call struct {
	*esl.Call
	cfg *Config

	callerID string // NUMBER@DOMAIN of the calling terminal, or ""
	calleeID string // NUMBER@DOMAIN of the called extension, or ""
	caller   store.Extension
	callee   store.Extension
	found    bool // the caller is in the store

	outcome string // metrics outcome
	result  string // what happened, for the log line
}

// Handle runs the flow for one call. It is an esl.Handler.
func (f *Flows) Handle(ctx context.Context, c *esl.Call) {
	start := f.now()
	k := &call{Call: c, cfg: f.cfg()}
	k.callerID, k.calleeID = identify(c, k.cfg.TrustCallerID)

	action := f.decide(k)
	var err error
	switch action {
	case policy.Allow:
		err = f.allow(ctx, k)
	case policy.Dialog:
		err = f.dialog(ctx, k)
	case policy.BlockOutgoing:
		err = f.blockOutgoing(ctx, k)
	case policy.BlockIncoming:
		err = f.blockIncoming(ctx, k)
	case policy.Voicemail:
		err = f.voicemail(ctx, k)
	case policy.Refuse:
		err = f.refuse(ctx, k)
	}

	elapsed := f.now().Sub(start)
	f.metrics.Calls.WithLabelValues(k.outcome).Inc()
	f.metrics.CallDuration.WithLabelValues(action.String()).Observe(elapsed.Seconds())
	f.logOutcome(k, action, elapsed, err)
}

// decide reads the state of both extensions in one store read and asks
// policy. When the store fails it falls back to the configured default.
func (f *Flows) decide(k *call) policy.Action {
	in := policy.Call{
		FeatureCode: k.Destination == k.cfg.FeatureCode,
		Emergency:   k.cfg.Emergency.Contains(k.Destination),
		FailClosed:  k.cfg.FailClosed,
	}

	start := f.now()
	caller, callee, callerFound, calleeFound, err := f.store.GetPair(k.callerID, k.calleeID)
	f.metrics.ObserveStore("get_pair", start, err)
	if err != nil {
		in.StoreFailed = true
		f.log.Error("store read failed, applying the store-failure policy",
			"uuid", k.UUID, "caller", k.callerID, "fail_closed", k.cfg.FailClosed, "error", err)
	} else {
		k.caller, k.callee, k.found = caller, callee, callerFound
		now := f.now()
		in.Caller = stateOf(caller, callerFound, now)
		in.Callee = stateOf(callee, calleeFound, now)
	}

	action := policy.Decide(in)
	k.outcome = outcomeOf(action, in)
	return action
}

// stateOf is what policy needs of a stored extension at now: a block whose
// timer has run out no longer counts.
func stateOf(e store.Extension, found bool, now time.Time) policy.Extension {
	if !found {
		return policy.Extension{}
	}
	return policy.Extension{Protection: e.Protection, Blocked: e.IsBlockedAt(now), Voicemail: e.Voicemail}
}

func outcomeOf(a policy.Action, in policy.Call) string {
	switch {
	case a == policy.Allow && in.Emergency:
		return metrics.OutcomeEmergency
	case a == policy.Allow && in.StoreFailed:
		return metrics.OutcomeFailOpen
	case a == policy.Refuse:
		return metrics.OutcomeFailClosed
	case a == policy.Dialog:
		return metrics.OutcomeDialog
	case a == policy.BlockOutgoing:
		return metrics.OutcomeBlockedOutgoing
	case a == policy.BlockIncoming:
		return metrics.OutcomeBlockedIncoming
	case a == policy.Voicemail:
		return metrics.OutcomeVoicemail
	default:
		return metrics.OutcomeAllowed
	}
}

// allow hands the call straight back to the dialplan, unanswered.
func (f *Flows) allow(ctx context.Context, k *call) error {
	k.result = "handed_back"
	if k.outcome == metrics.OutcomeEmergency {
		k.result = "emergency_handed_back"
	}
	ctx, cancel := context.WithTimeout(ctx, k.cfg.StepTimeout)
	defer cancel()
	return k.HandBack(ctx)
}

// blockOutgoing plays the blocked prompt to a blocked terminal in early
// media and refuses its call.
func (f *Flows) blockOutgoing(ctx context.Context, k *call) error {
	k.result = k.cfg.OutgoingCause
	return f.refuseWithPrompt(ctx, k, k.cfg.Prompts.OutgoingBlocked, k.cfg.OutgoingCause)
}

// blockIncoming refuses a call for a blocked extension without voicemail,
// after the optional prompt.
func (f *Flows) blockIncoming(ctx context.Context, k *call) error {
	k.result = k.cfg.IncomingCause
	return f.refuseWithPrompt(ctx, k, k.cfg.Prompts.IncomingBlocked, k.cfg.IncomingCause)
}

// refuse ends a call that could not be checked, under fail-closed.
func (f *Flows) refuse(ctx context.Context, k *call) error {
	k.result = k.cfg.FailClosedCause
	return f.refuseWithPrompt(ctx, k, "", k.cfg.FailClosedCause)
}

func (f *Flows) refuseWithPrompt(ctx context.Context, k *call, prompt, cause string) error {
	k.SetFallbackCause(cause)
	if prompt != "" {
		if err := f.step(ctx, k, k.cfg.StepTimeout, k.PreAnswer); err != nil {
			return err
		}
		if err := f.play(ctx, k, prompt); err != nil {
			return err
		}
	}
	return f.hangup(ctx, k, cause)
}

// voicemail sends the call to the called extension's voicemail and stays
// with it until the caller hangs up or the voicemail application ends; or,
// with the voicemail application "transfer", hands it to that place in the
// dialplan (such as the vanilla "*99{number} XML default") and lets go.
func (f *Flows) voicemail(ctx context.Context, k *call) error {
	k.result = "voicemail"
	number, domain := splitID(k.calleeID)
	args := k.cfg.voicemailArgs(number, domain)
	if k.cfg.VoicemailApp == "transfer" {
		// The dialplan takes the call from here; this session is done.
		return f.step(ctx, k, k.cfg.StepTimeout, func(ctx context.Context) error { return k.Transfer(ctx, args) })
	}

	ctx, cancel := context.WithTimeout(ctx, k.cfg.VoicemailMaxDuration)
	defer cancel()
	err := k.Execute(ctx, k.cfg.VoicemailApp, args)
	if errors.Is(err, esl.ErrHungUp) {
		return nil
	}
	if err != nil {
		return err
	}
	return f.hangup(ctx, k, "NORMAL_CLEARING")
}

func (f *Flows) play(ctx context.Context, k *call, file string) error {
	ctx, cancel := context.WithTimeout(ctx, k.cfg.PromptTimeout)
	defer cancel()
	return k.Play(ctx, file)
}

func (f *Flows) hangup(ctx context.Context, k *call, cause string) error {
	ctx, cancel := context.WithTimeout(ctx, k.cfg.StepTimeout)
	defer cancel()
	return k.Hangup(ctx, cause)
}

// step runs one quick call step under its own deadline.
func (f *Flows) step(ctx context.Context, k *call, timeout time.Duration, do func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return do(ctx)
}

func (f *Flows) logOutcome(k *call, action policy.Action, elapsed time.Duration, err error) {
	attrs := []any{
		"uuid", k.UUID, "caller", k.callerID, "destination", k.Destination,
		"flow", action.String(), "result", k.result, "duration", elapsed,
	}
	switch {
	case err == nil:
		f.log.Info("call", attrs...)
	case errors.Is(err, esl.ErrHungUp):
		f.log.Info("call", append(attrs, "hung_up", true)...)
	default:
		f.log.Warn("call", append(attrs, "error", err)...)
	}
}
