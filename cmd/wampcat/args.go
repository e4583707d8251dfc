package main

import (
	"encoding/json"
	"strings"

	"github.com/wampedge/wampedge/codec"
	"github.com/wampedge/wampedge/edge/client"
)

// payload turns command-line arguments and -kw into a payload. Each
// argument is JSON, or a plain string if it does not look like JSON (or
// with -str); one that looks like JSON but does not parse is an error,
// not a string that would surprise the receiver.
func payload(args []string, kw string, asStrings bool) (client.Payload, error) {
	var p client.Payload
	if len(args) > 0 {
		list := []byte{'['}
		for i, a := range args {
			if i > 0 {
				list = append(list, ',')
			}
			if asStrings || !looksLikeJSON(a) {
				s, _ := json.Marshal(a)
				list = append(list, s...)
				continue
			}
			if _, err := codec.FromJSON(nil, []byte(a)); err != nil {
				return p, usagef("argument %d %q is not valid JSON (%v); quote it as a JSON string or use -str", i+1, a, jsonReason(err))
			}
			list = append(list, a...)
		}
		list = append(list, ']')
		mp, err := codec.FromJSON(nil, list)
		if err != nil {
			return p, usagef("arguments: %v", jsonReason(err))
		}
		p.Args = mp
	}
	if kw != "" {
		if text := strings.TrimSpace(kw); !strings.HasPrefix(text, "{") {
			return p, usagef("-kw %q: want a JSON object", kw)
		}
		mp, err := codec.FromJSON(nil, []byte(kw))
		if err != nil {
			return p, usagef("-kw %q is not a valid JSON object (%v)", kw, jsonReason(err))
		}
		p.Kwargs = mp
	}
	return p, nil
}

// looksLikeJSON reports whether an argument was meant as JSON: an
// object, a list, a quoted string, a number, true, false or null.
func looksLikeJSON(a string) bool {
	a = strings.TrimSpace(a)
	if a == "" {
		return false
	}
	switch a[0] {
	case '{', '[', '"':
		return true
	}
	return looksLikeNumber(a) || a == "true" || a == "false" || a == "null"
}

// looksLikeNumber: a digit first, or a minus sign and a digit ("-1" is an
// argument, not a flag).
func looksLikeNumber(a string) bool {
	if strings.HasPrefix(a, "-") {
		a = a[1:]
	}
	return a != "" && a[0] >= '0' && a[0] <= '9'
}

// jsonReason is the codec's error without its package prefix.
func jsonReason(err error) string { return strings.TrimPrefix(err.Error(), "codec: ") }
