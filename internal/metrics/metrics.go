// Package metrics defines phonelock's Prometheus metrics. Every metric is
// registered against an injected Registerer, so tests use a fresh registry,
// and every label comes from a small closed set: never an extension, a
// caller ID or a UUID.
package metrics

import (
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/phonelock/phonelock/store"
)

// Call outcomes, the values of the outcome label of phonelock_calls_total.
const (
	OutcomeAllowed         = "allowed"
	OutcomeEmergency       = "emergency"
	OutcomeDialog          = "dialog"
	OutcomeBlockedOutgoing = "blocked_outgoing"
	OutcomeBlockedIncoming = "blocked_incoming"
	OutcomeVoicemail       = "voicemail"
	OutcomeFailOpen        = "fail_open"
	OutcomeFailClosed      = "fail_closed"
)

// Dialog results, the values of the result label of phonelock_dialogs_total.
const (
	DialogBlocked       = "blocked"
	DialogUnblocked     = "unblocked"
	DialogWrongPassword = "wrong_password"
	DialogLockedOut     = "locked_out"
	DialogNotAvailable  = "not_available"
	DialogHungUp        = "hung_up"
	DialogTimedOut      = "timed_out"
	DialogError         = "error"
)

// Metrics holds every metric the daemon updates.
type Metrics struct {
	// Calls counts calls by outcome.
	Calls *prometheus.CounterVec
	// Dialogs counts feature-code dialogs by result.
	Dialogs *prometheus.CounterVec
	// PasswordAttempts counts wrong passwords entered at the feature code;
	// a burst of them is worth an alert.
	WrongPasswords prometheus.Counter
	// CallDuration observes how long the daemon held each call, by flow.
	CallDuration *prometheus.HistogramVec
	// Sessions is the number of event socket sessions in progress.
	Sessions prometheus.Gauge
	// StoreDuration observes store operations by operation.
	StoreDuration *prometheus.HistogramVec
	// StoreErrors counts failed store operations by operation.
	StoreErrors *prometheus.CounterVec
	// AdminRequests counts admin API requests by route and status code.
	AdminRequests *prometheus.CounterVec
}

// New creates the metrics and registers them, with build information and
// the Go and process collectors, on reg. It panics if a metric is already
// registered there, which is a programming error.
func New(reg prometheus.Registerer, version string) *Metrics {
	m := &Metrics{
		Calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "phonelock_calls_total",
			Help: "Calls handled, by outcome.",
		}, []string{"outcome"}),
		Dialogs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "phonelock_dialogs_total",
			Help: "Feature-code dialogs, by result.",
		}, []string{"result"}),
		WrongPasswords: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "phonelock_wrong_passwords_total",
			Help: "Wrong passwords entered at the feature code.",
		}),
		CallDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "phonelock_call_duration_seconds",
			Help: "Time the daemon held a call, from accepting the connection to closing it, by flow.",
			// 10 us up to about 10 min: the allowed path is tens of
			// microseconds of our own time, a dialog many seconds.
			Buckets: prometheus.ExponentialBuckets(10e-6, 3, 18),
		}, []string{"flow"}),
		Sessions: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "phonelock_esl_sessions",
			Help: "Event socket sessions in progress.",
		}),
		StoreDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "phonelock_store_operation_duration_seconds",
			Help:    "Time taken by store operations, by operation.",
			Buckets: prometheus.ExponentialBuckets(10e-6, 4, 10),
		}, []string{"operation"}),
		StoreErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "phonelock_store_errors_total",
			Help: "Store operations that failed to read or write the database, by operation.",
		}, []string{"operation"}),
		AdminRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "phonelock_admin_requests_total",
			Help: "Admin API requests, by route and HTTP status code.",
		}, []string{"route", "code"}),
	}

	buildInfo := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "phonelock_build_info",
		Help:        "Build information; the value is always 1.",
		ConstLabels: prometheus.Labels{"version": version, "goversion": runtime.Version()},
	})
	buildInfo.Set(1)

	reg.MustRegister(m.Calls, m.Dialogs, m.WrongPasswords, m.CallDuration, m.Sessions,
		m.StoreDuration, m.StoreErrors, m.AdminRequests, buildInfo,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// ObserveStore records one store operation that started at start. An error
// counts as a store error unless it is a refusal (see store.Refused): a
// missing extension or a taken id is an answer, not a failing database, and
// must not raise the store alert.
func (m *Metrics) ObserveStore(operation string, start time.Time, err error) {
	m.StoreDuration.WithLabelValues(operation).Observe(time.Since(start).Seconds())
	if err != nil && !store.Refused(err) {
		m.StoreErrors.WithLabelValues(operation).Inc()
	}
}

// ExtensionCounter counts extensions by state (such as "blocked") when
// Prometheus scrapes.
type ExtensionCounter func() (map[string]int, error)

// extensionsCollector reports phonelock_extensions{state} at scrape time.
type extensionsCollector struct {
	desc   *prometheus.Desc
	count  ExtensionCounter
	errors prometheus.Counter
}

// RegisterExtensions registers phonelock_extensions{state}, read through
// count at each scrape. A failed count leaves the metric out of that scrape
// and counts a store error for the operation "stats".
func (m *Metrics) RegisterExtensions(reg prometheus.Registerer, count ExtensionCounter) {
	reg.MustRegister(&extensionsCollector{
		desc: prometheus.NewDesc("phonelock_extensions",
			"Extensions known to the store, by state.", []string{"state"}, nil),
		count:  count,
		errors: m.StoreErrors.WithLabelValues("stats"),
	})
}

func (c *extensionsCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.desc
}

func (c *extensionsCollector) Collect(ch chan<- prometheus.Metric) {
	counts, err := c.count()
	if err != nil {
		c.errors.Inc()
		return
	}
	for state, n := range counts {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n), state)
	}
}
