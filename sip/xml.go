package sip

import (
	"bytes"
	"encoding/xml"
	"fmt"

	"github.com/switchboard-chat/switchboard"
)

// Event bodies: application/dialog-info+xml (RFC 4235) and
// application/pidf+xml (RFC 3863, with RPID activities of RFC 4480).

const (
	dialogInfoType = "application/dialog-info+xml"
	pidfType       = "application/pidf+xml"

	dialogInfoNS = "urn:ietf:params:xml:ns:dialog-info"
	pidfNS       = "urn:ietf:params:xml:ns:pidf"
	rpidNS       = "urn:ietf:params:xml:ns:pidf:rpid"
)

// dialogInfo is a dialog-info document. Parsing accepts it with or without
// its namespace, as phones vary.
type dialogInfo struct {
	XMLName xml.Name      `xml:"dialog-info"`
	NS      string        `xml:"xmlns,attr,omitempty"`
	Version int64         `xml:"version,attr"`
	State   string        `xml:"state,attr"` // full or partial
	Entity  string        `xml:"entity,attr"`
	Dialogs []dialogEntry `xml:"dialog"`
}

type dialogEntry struct {
	ID        string      `xml:"id,attr"`
	CallID    string      `xml:"call-id,attr,omitempty"`
	LocalTag  string      `xml:"local-tag,attr,omitempty"`
	RemoteTag string      `xml:"remote-tag,attr,omitempty"`
	Direction string      `xml:"direction,attr,omitempty"`
	State     dialogState `xml:"state"`
}

type dialogState struct {
	Event string `xml:"event,attr,omitempty"`
	Code  int    `xml:"code,attr,omitempty"`
	Value string `xml:",chardata"`
}

// key identifies a dialog within a document: its id, else its Call-ID.
func (d dialogEntry) key() string {
	if d.ID != "" {
		return d.ID
	}
	return d.CallID
}

// dialogActive reports whether a dialog state means "in a call" (ringing,
// early or confirmed), and known whether the state is one of RFC 4235's.
func dialogActive(state string) (active, known bool) {
	switch state {
	case "trying", "proceeding", "early", "confirmed":
		return true, true
	case "terminated":
		return false, true
	}
	return false, false
}

// parseDialogInfo parses a dialog-info document.
func parseDialogInfo(b []byte) (*dialogInfo, error) {
	var d dialogInfo
	dec := xml.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&d); err != nil {
		return nil, fmt.Errorf("dialog-info: %w", err)
	}
	for i := range d.Dialogs {
		d.Dialogs[i].State.Value = string(bytes.TrimSpace([]byte(d.Dialogs[i].State.Value)))
	}
	return &d, nil
}

// marshal returns the document with an XML declaration.
func (d *dialogInfo) marshal() []byte {
	d.NS = dialogInfoNS
	return marshalXML(d)
}

// busyDialogInfo is the dialog-info of an extension for a busy lamp: one
// confirmed dialog while it is in a call, else one terminated dialog.
func busyDialogInfo(entity, ext string, inCall bool, version int64) *dialogInfo {
	state := "terminated"
	if inCall {
		state = "confirmed"
	}
	return &dialogInfo{Version: version, State: "full", Entity: entity,
		Dialogs: []dialogEntry{{ID: "switchboard-" + ext, State: dialogState{Value: state}}}}
}

// pidf is a presence document.
type pidf struct {
	XMLName xml.Name    `xml:"urn:ietf:params:xml:ns:pidf presence"`
	Entity  string      `xml:"entity,attr"`
	Tuples  []pidfTuple `xml:"tuple"`
	Notes   []string    `xml:"note,omitempty"`
	Person  *pidfPerson `xml:"urn:ietf:params:xml:ns:pidf:data-model person,omitempty"`
}

type pidfTuple struct {
	ID    string   `xml:"id,attr"`
	Basic string   `xml:"status>basic"` // open or closed
	Notes []string `xml:"note,omitempty"`
}

type pidfPerson struct {
	ID         string          `xml:"id,attr"`
	Activities *rpidActivities `xml:"urn:ietf:params:xml:ns:pidf:rpid activities,omitempty"`
}

type rpidActivities struct {
	Items []rpidActivity `xml:",any"`
}

type rpidActivity struct {
	XMLName xml.Name
}

// presencePIDF describes presence p of an extension: basic open while it
// is available for calls (green), closed otherwise; the tuple's note is the
// colour; the document's note is the status message (or "Do not disturb");
// RPID activities say on-the-phone or busy.
func presencePIDF(entity string, p switchboard.Presence) *pidf {
	basic := "closed"
	if p.Color == switchboard.Green {
		basic = "open"
	}
	doc := &pidf{XMLName: xml.Name{Space: pidfNS, Local: "presence"}, Entity: entity, Tuples: []pidfTuple{{ID: "switchboard", Basic: basic, Notes: []string{string(p.Color)}}}}
	switch {
	case p.Message != "":
		doc.Notes = []string{p.Message}
	case p.DND:
		doc.Notes = []string{"Do not disturb"}
	}
	var activity string
	switch {
	case p.DND:
		activity = "busy"
	case p.Color == switchboard.Red:
		activity = "on-the-phone"
	}
	if activity != "" {
		doc.Person = &pidfPerson{ID: "p", Activities: &rpidActivities{Items: []rpidActivity{{XMLName: xml.Name{Space: rpidNS, Local: activity}}}}}
	}
	return doc
}

func (d *pidf) marshal() []byte { return marshalXML(d) }

// parsePIDF parses a presence document.
func parsePIDF(b []byte) (*pidf, error) {
	var d pidf
	if err := xml.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("pidf: %w", err)
	}
	return &d, nil
}

func marshalXML(v any) []byte {
	b, err := xml.Marshal(v)
	if err != nil {
		panic("sip: marshal " + err.Error()) // only fixed types are marshalled
	}
	return append([]byte(xml.Header), b...)
}
