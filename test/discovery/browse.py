#!/usr/bin/python3
"""An independent mDNS browser for the discovery test (python3-zeroconf).

Browses _wamp._tcp.local. for at most SECONDS and prints one JSON line per
change: {"event": "added"|"updated"|"removed", "name", "port",
"addresses", "txt"}. It ends early when stdin closes.
"""
import json
import sys
import threading

from zeroconf import ServiceBrowser, ServiceStateChange, Zeroconf

SERVICE = "_wamp._tcp.local."


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 30
    zc = Zeroconf()
    lock = threading.Lock()

    def emit(obj):
        with lock:
            print(json.dumps(obj), flush=True)

    def on_change(zeroconf, service_type, name, state_change):
        event = {"event": state_change.name.lower(), "name": name}
        if state_change is not ServiceStateChange.Removed:
            info = zeroconf.get_service_info(service_type, name, timeout=3000)
            if info is None:
                return
            event["port"] = info.port
            event["addresses"] = info.parsed_addresses()
            event["txt"] = {k.decode(): (v or b"").decode() for k, v in info.properties.items()}
        emit(event)

    ServiceBrowser(zc, SERVICE, handlers=[on_change])
    emit({"event": "browsing"})
    done = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
    done.wait(seconds)
    zc.close()


if __name__ == "__main__":
    main()
