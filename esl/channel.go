package esl

// ChannelData is what FreeSWITCH says about a call in its reply to
// "connect". Values are decoded. Fields FreeSWITCH did not send are empty.
type ChannelData struct {
	// UUID is the channel's Unique-ID.
	UUID string
	// ChannelName is the endpoint name, such as sofia/internal/1001@example.com.
	ChannelName string
	// UserName and Domain are the authenticated SIP user of the channel
	// (variable_user_name, variable_domain_name), set by FreeSWITCH after
	// digest authentication against its directory. They are empty for calls
	// that did not authenticate, such as calls from gateways or loopback.
	UserName string
	Domain   string
	// Destination is the dialed number (Caller-Destination-Number).
	Destination string
	// CallerIDNumber is the caller ID the caller sent. The caller chooses
	// it freely: it identifies nobody.
	CallerIDNumber string
	// NetworkAddr is the caller's signalling address where known.
	NetworkAddr string
	// SIPRequestHost is the host part of the SIP request URI, the called
	// domain of a SIP call (variable_sip_req_host).
	SIPRequestHost string

	all headers
}

// Variable returns the decoded value of channel variable name as it stood
// when the call was handed over, or "" when it was not set.
func (d *ChannelData) Variable(name string) string {
	return d.all.get("variable_" + name)
}

func newChannelData(hs headers) *ChannelData {
	return &ChannelData{
		UUID:           hs.get("Unique-ID"),
		ChannelName:    hs.get("Channel-Name"),
		UserName:       hs.get("variable_user_name"),
		Domain:         hs.get("variable_domain_name"),
		Destination:    hs.get("Caller-Destination-Number"),
		CallerIDNumber: hs.get("Caller-Caller-ID-Number"),
		NetworkAddr:    hs.get("Caller-Network-Addr"),
		SIPRequestHost: hs.get("variable_sip_req_host"),
		all:            hs,
	}
}
