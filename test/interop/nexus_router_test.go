package interop

import (
	"fmt"
	"io"
	"net"
	"path/filepath"
	"testing"

	nexusrouter "github.com/gammazero/nexus/v3/router"
	"github.com/gammazero/nexus/v3/wamp"
)

// nexusRouter is a nexus router in the test process, with RawSocket on a
// loopback port and a Unix socket.
type nexusRouter struct {
	r       nexusrouter.Router
	tcpAddr string
	unix    string
	closers []io.Closer
}

func startNexusRouter(t *testing.T) *nexusRouter {
	r, err := nexusrouter.NewRouter(&nexusrouter.Config{
		RealmConfigs: []*nexusrouter.RealmConfig{{URI: wamp.URI("realm1"), AnonymousAuth: true, AllowDisclose: true}},
	}, quietLogger{})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0") // a port free a moment ago
	if err != nil {
		t.Fatal(err)
	}
	nr := &nexusRouter{r: r, tcpAddr: ln.Addr().String(), unix: filepath.Join(t.TempDir(), "nexus.sock")}
	ln.Close()
	srv := nexusrouter.NewRawSocketServer(r)
	srv.RecvLimit = routerMaxLen
	for _, l := range [][2]string{{"tcp", nr.tcpAddr}, {"unix", nr.unix}} {
		c, err := srv.ListenAndServe(l[0], l[1])
		if err != nil {
			t.Fatal(err)
		}
		nr.closers = append(nr.closers, c)
	}
	t.Cleanup(func() {
		for _, c := range nr.closers {
			c.Close()
		}
		r.Close()
	})
	return nr
}

func (nr *nexusRouter) target(transport string) string {
	if transport == "unix" {
		return nr.unix
	}
	return nr.tcpAddr
}

func (nr *nexusRouter) lacks() map[string]string {
	return map[string]string{
		"binary_transcoding": "nexus delivers binary from a JSON session to a MessagePack one (and back) as base64 text",
		"count_subscribers":  "nexus v3.3.0 names wamp.subscription.count_subscribers wamp.subscription.count_suscribers (a typo), so the right name is no_such_procedure",
	}
}

// TestEdgeClientAgainstNexusRouter runs the scenarios the other way
// round: wampedge's own client (what the uplink stands on) against a
// nexus router, over RawSocket on TCP and a Unix socket, both serializers.
func TestEdgeClientAgainstNexusRouter(t *testing.T) {
	nr := startNexusRouter(t)
	for _, transport := range []string{"tcp", "unix"} {
		for _, ser := range edgeKind.serializers {
			row := fmt.Sprintf("wampedge-client→nexus-router/%s/%s", transport, ser)
			t.Run(row, func(t *testing.T) {
				for _, sc := range scenarios {
					t.Run(sc.name, func(t *testing.T) { runScenario(t, nr, edgeKind, transport, ser, row, sc) })
				}
			})
		}
	}
}
