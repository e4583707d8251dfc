#!/usr/bin/python3
"""wampedge interop peer: Autobahn|Python (asyncio) over WAMP RawSocket.

Implements the peer control protocol described in ../PROTOCOL.md (the contract):

    peer.py --url tcp://HOST:PORT|unix:///PATH --realm REALM --ser json|msgpack [--maxlen BYTES]

Commands arrive on stdin as one JSON object per line and run concurrently; every command gets
exactly one reply line, events get one line each, all on stdout. Diagnostics go to stderr.

Run it with Debian's interpreter (/usr/bin/python3), which sees python3-autobahn and
python3-msgpack. Notes on the library (Autobahn 22.7.1 as packaged by Debian):

- The asyncio RawSocket client protocol keeps its TransportDetails in ``_transport_details``
  but ApplicationSession reads ``transport.transport_details`` on WELCOME; PeerProtocol
  provides that property.
- The factory takes no max_message_size and the RawSocket handshake always announces 16 MiB;
  PeerProtocol announces --maxlen instead (rounded up to a power of two, 512 bytes to 16 MiB)
  and the library then drops the connection on a larger incoming frame.
- A failed handshake closes the connection before any session exists, so the session never
  hears of it; PeerProtocol reports the loss itself.
- ERRORs with wamp.error.invalid_payload and wamp.error.payload_size_exceeded are normally
  turned into exception classes without their URI; PeerSession builds every router ERROR as
  an ApplicationError carrying its URI, args and kwargs.
- A single-argument RESULT is normally unwrapped (so [] and [null] look alike); PeerSession
  resolves every final RESULT as a CallResult itself.
- With the JSON serializer Autobahn itself encodes bytes as "\\u0000"+base64 and decodes such
  strings to bytes; with MessagePack bytes travel as bin. Either way the library hands bytes to
  the peer, and the peer converts between bytes and the protocol's "\\u0000"+base64 strings.
- Keyword arguments named enc_algo, callee, callee_authid, callee_authrole or forward_for are
  taken by the constructors of CallResult and ApplicationError, so the peer fills those in
  directly. A keyword argument named "options" cannot be published or passed to a call through
  Autobahn's API; the peer answers such a command with "fail".

Advanced Profile (the optional members of PROTOCOL.md):

- SubscribeOptions(match, get_retained), RegisterOptions(match, invoke), PublishOptions(retain,
  exclude*, eligible*), CallOptions(on_progress, timeout) carry what the harness asks. The
  library has no disclose_me (neither PublishOptions nor CallOptions; disclosure is left to the
  router's configuration): such commands are unsupported. CallOptions.timeout goes to the
  router as it is given (milliseconds, though the docstring says seconds).
- Events and invocations come with EventDetails (topic, publisher, retained) and CallDetails
  (procedure, caller, progress) through details_arg.
- Cancel: cancelling the call's future makes the library send CANCEL, always without a mode (its
  canceller is fixed), so only the default mode is supported. The library keeps the request and
  would then reject the cancelled future with the router's ERROR (an InvalidStateError inside
  onMessage); PeerSession takes that ERROR and answers the call command with it.
- INTERRUPT cancels the invocation's task; the "slow" behavior catches that, reports it (the
  library does not hand over the INTERRUPT's mode) and answers wamp.error.canceled.
"""

import argparse
import asyncio
import base64
import json
import math
import os
import sys
import threading
from urllib.parse import urlsplit

os.environ.pop("AUTOBAHN_USE_UJSON", None)  # ujson would lose binary payloads

import txaio  # noqa: E402
from autobahn.asyncio.rawsocket import (  # noqa: E402
    WampRawSocketClientFactory,
    WampRawSocketClientProtocol,
)
from autobahn.asyncio.wamp import ApplicationSession  # noqa: E402
from autobahn.wamp import message  # noqa: E402
from autobahn.wamp.exception import ApplicationError  # noqa: E402
from autobahn.wamp.request import UnregisterRequest, UnsubscribeRequest  # noqa: E402
from autobahn.wamp.serializer import JsonSerializer, MsgPackSerializer  # noqa: E402
from autobahn.wamp.types import (  # noqa: E402
    CallOptions,
    CallResult,
    ComponentConfig,
    PublishOptions,
    RegisterOptions,
    SubscribeOptions,
)

SERIALIZERS = {"json": JsonSerializer, "msgpack": MsgPackSerializer}
ERROR_URI = "com.example.error"
DETAILS_ARG = "_wampedge_peer_details"  # keyword under which Autobahn passes EventDetails
LEAVE_TIMEOUT = 10.0
SLOW_LIMIT = 10.0  # the longest a "slow" invocation waits for its interrupt
NO_PROGRESS = "com.example.no_progress"

# The members each command may have; any other is refused, never ignored.
FIELDS = {
    "subscribe": {"topic", "match", "get_retained"},
    "unsubscribe": {"subscription"},
    "publish": {"topic", "args", "kwargs", "acknowledge", "exclude_me", "disclose_me", "retain",
                "exclude", "exclude_authid", "exclude_authrole",
                "eligible", "eligible_authid", "eligible_authrole"},
    "register": {"procedure", "behavior", "match", "invoke", "count"},
    "unregister": {"registration"},
    "call": {"procedure", "args", "kwargs", "receive_progress", "timeout", "disclose_me",
             "cancelable", "cancel_mode"},
    "cancel": {"call"},
    "leave": set(),
}
PUBLISH_OPTIONS = ("exclude", "exclude_authid", "exclude_authrole",
                   "eligible", "eligible_authid", "eligible_authrole", "retain")


class Unsupported(Exception):
    """A command this library cannot carry out as asked."""


# ---------------------------------------------------------------- output


def emit(obj):
    """Write one JSON line to stdout and flush. Only the event loop thread writes."""
    line = json.dumps(obj, ensure_ascii=True, separators=(",", ":"), allow_nan=False)
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def log(text):
    print("peer.py: " + text, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- values


def from_wire(value):
    """Control-protocol value -> library value: "\\u0000"+base64 strings become bytes."""
    if isinstance(value, str) and value.startswith("\x00"):
        return base64.b64decode(value[1:], validate=True)
    if isinstance(value, list):
        return [from_wire(v) for v in value]
    if isinstance(value, dict):
        return {k: from_wire(v) for k, v in value.items()}
    return value


def to_wire(value):
    """Library value -> control-protocol value: bytes become "\\u0000"+base64 strings."""
    if isinstance(value, (bytes, bytearray)):
        return "\x00" + base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, (list, tuple)):
        return [to_wire(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_wire(v) for k, v in value.items()}
    return value


def payload(args, kwargs):
    """The args/kwargs pair as written in results, events and errors."""
    return {"args": to_wire(list(args or [])), "kwargs": to_wire(dict(kwargs or {}))}


def command_payload(cmd):
    """The args/kwargs of a publish or call command, converted for the library."""
    args = cmd.get("args") or []
    kwargs = cmd.get("kwargs") or {}
    if not isinstance(args, list) or not isinstance(kwargs, dict):
        raise ValueError("args must be a list and kwargs an object")
    if "options" in kwargs:
        # publish() and call() take their options from **kwargs under this name.
        raise ValueError("Autobahn cannot send a keyword argument named 'options'")
    return from_wire(args), from_wire(kwargs)


# ---------------------------------------------------------------- transport


def length_exponent(maxlen):
    """RawSocket length exponent announcing at least maxlen bytes (2**(9+exp), exp 0..15).

    Rounded up to a power of two, as Autobahn's own RawSocketProtocol and wampedge's
    rawsocket.Config do.
    """
    exp = max(0, math.ceil(math.log2(maxlen)) - 9)
    if exp > 15:
        log("--maxlen %d is above the RawSocket maximum; announcing 16 MiB" % maxlen)
    return min(15, exp)


class PeerProtocol(WampRawSocketClientProtocol):
    """Autobahn's asyncio RawSocket client protocol with the fixes this version needs."""

    @property
    def transport_details(self):
        # ApplicationSession reads this on WELCOME; 22.7.1 only sets _transport_details.
        return self._transport_details

    def connection_made(self, transport):
        # RawSocketProtocol.__init__ hard-codes 16 MiB; set the announced limit before
        # the base class sends the handshake.
        if self.factory.maxlen:
            self._length_exp = length_exponent(self.factory.maxlen)
            self.max_length = 2 ** (self._length_exp + 9)
        super().connection_made(transport)

    def protocol_error(self, msg):
        self.error_text = msg  # e.g. the router refused the handshake
        super().protocol_error(msg)

    def _on_connection_lost(self, exc):
        if hasattr(self, "_session"):  # the base class assumes a session exists
            super()._on_connection_lost(exc)

    def connection_lost(self, exc):
        super().connection_lost(exc)
        # Without a session (handshake refused or failed) nobody else notices.
        if not self.factory.ended.done():
            text = getattr(self, "error_text", None) or (str(exc) if exc else None)
            self.factory.ended.set_result(text or "connection closed before the session opened")


class PeerFactory(WampRawSocketClientFactory):
    """Client factory carrying the announced maximum and the peer's end-of-session future."""

    protocol = PeerProtocol

    def __init__(self, session_factory, serializer, maxlen, ended):
        super().__init__(session_factory, serializer=serializer)
        self.maxlen = maxlen
        self.ended = ended


# ---------------------------------------------------------------- session


class PeerSession(ApplicationSession):
    """One WAMP session driven by control commands."""

    def __init__(self, config, joined, ended):
        super().__init__(config)
        self.joined = joined  # future: resolved with self once WELCOME arrived
        self.ended = ended  # future: resolved with a text once the session is gone
        self.leaving = False
        self.close_reason = None
        self.peer_subs = {}  # subscription id -> [Subscription], oldest first
        self.peer_regs = {}  # registration id -> Registration
        self.cancelable = {}  # call command id -> [future, request id, cancelled?]
        self.cancelled = {}  # request id -> future of the router's answer to CANCEL

    # -- lifecycle

    def onJoin(self, details):
        if not self.joined.done():
            self.joined.set_result(self)

    def onMessage(self, msg):
        if (isinstance(msg, message.Error) and msg.request_type == message.Call.MESSAGE_TYPE
                and msg.request in self.cancelled):
            # The answer to CANCEL: the library would reject the cancelled future with it.
            self._call_reqs.pop(msg.request, None)
            answer = self.cancelled.pop(msg.request)
            if not answer.done():
                answer.set_result(application_error(msg.error, msg.args, msg.kwargs))
            return None
        if isinstance(msg, message.Abort) and self._session_id:
            # Autobahn treats an ABORT on an open session as a protocol error; keep its reason.
            self.close_reason = describe_close(msg.reason, msg.message)
        if isinstance(msg, message.Result) and not msg.progress and msg.request in self._call_reqs:
            # The library builds CallResult(*args, callee=..., **kwargs): result kwargs named
            # callee, forward_for, ... would break it (and kill the connection). Resolve directly.
            request = self._call_reqs.pop(msg.request)
            txaio.resolve(request.on_reply, call_result(msg.args, msg.kwargs))
            return None
        return super().onMessage(msg)

    def _exception_from_message(self, msg):
        # Every router ERROR becomes an ApplicationError with its URI, args and kwargs intact
        # (the library would map some URIs to URI-less classes and pop reserved kwargs).
        return application_error(msg.error, msg.args, msg.kwargs)

    def onLeave(self, details):
        if self.close_reason is None:
            self.close_reason = describe_close(details.reason, details.message)
        return super().onLeave(details)

    def onUserError(self, fail, msg):
        # The "error" behaviour raises on purpose; do not log that as a failure.
        if not (isinstance(fail.value, ApplicationError) and fail.value.error == ERROR_URI):
            super().onUserError(fail, msg)

    def onDisconnect(self):
        super().onDisconnect()
        if not self.ended.done():
            self.ended.set_result(self.close_reason or "transport closed")

    # -- commands

    async def op_subscribe(self, cmd):
        options = SubscribeOptions(match=cmd.get("match"), get_retained=cmd.get("get_retained"),
                                   details_arg=DETAILS_ARG)
        sub = await self.subscribe(self.on_event, cmd["topic"], options=options)
        self.peer_subs.setdefault(sub.id, []).append(sub)
        return {"subscription": sub.id}

    def on_event(self, *args, **kwargs):
        details = kwargs.pop(DETAILS_ARG)
        sub = details.subscription
        mine = self.peer_subs.get(sub.id)
        if mine and mine[0] is not sub:
            return  # the same subscription subscribed twice: one line per EVENT
        event = {"subscription": sub.id, "publication": details.publication}
        event.update(payload(args, kwargs))
        event["details"] = {"topic": details.topic, "publisher": details.publisher,
                            "retained": bool(details.retained)}
        try:
            emit({"event": event})
        except (TypeError, ValueError) as e:
            log("event %s cannot be written as JSON: %s" % (details.publication, e))

    async def op_unsubscribe(self, cmd):
        sub_id = cmd["subscription"]
        mine = self.peer_subs.get(sub_id)
        if mine:
            sub = mine.pop(0)
            if not mine:
                del self.peer_subs[sub_id]
            await sub.unsubscribe()
        else:
            await self.send_raw(message.Unsubscribe, UnsubscribeRequest, self._unsubscribe_reqs, sub_id)
        return {}

    async def op_publish(self, cmd):
        args, kwargs = command_payload(cmd)
        opts = {}
        if cmd.get("acknowledge"):
            opts["acknowledge"] = True
        if "exclude_me" in cmd:
            opts["exclude_me"] = bool(cmd["exclude_me"])
        if "disclose_me" in cmd:
            raise Unsupported("disclose_me: Autobahn|Python 22.7.1's PublishOptions has none")
        for name in PUBLISH_OPTIONS:
            if name in cmd:
                opts[name] = cmd[name]
        if opts:
            kwargs["options"] = PublishOptions(**opts)
        pub = self.publish(cmd["topic"], *args, **kwargs)
        if cmd.get("acknowledge"):
            pub = await pub
            return {"publication": pub.id}
        return {}

    async def op_register(self, cmd):
        behavior = cmd.get("behavior")
        details_arg = DETAILS_ARG
        if behavior == "echo":
            endpoint, details_arg = echo_endpoint, None
        elif behavior == "error":
            endpoint, details_arg = error_endpoint, None
        elif behavior == "whoami":
            endpoint = self.whoami_endpoint
        elif behavior == "progress":
            endpoint = progress_endpoint(cmd.get("count") or 3)
        elif behavior == "slow":
            endpoint = self.slow_endpoint
        else:
            raise Unsupported("behavior %r" % (behavior,))
        options = RegisterOptions(match=cmd.get("match"), invoke=cmd.get("invoke"),
                                  details_arg=details_arg)
        reg = await self.register(endpoint, cmd["procedure"], options=options)
        self.peer_regs[reg.id] = reg
        return {"registration": reg.id}

    def whoami_endpoint(self, *args, **kwargs):
        """Answer with what the library tells of the invocation."""
        details = kwargs.pop(DETAILS_ARG)
        return call_result([], {"procedure": details.procedure, "caller": details.caller,
                                "callee": self._session_id})

    async def slow_endpoint(self, *args, **kwargs):
        """Wait until interrupted (then answer wamp.error.canceled), at most SLOW_LIMIT."""
        details = kwargs.pop(DETAILS_ARG)
        emit({"note": {"kind": "invoked", "procedure": details.procedure}})
        try:
            await asyncio.sleep(SLOW_LIMIT)
        except asyncio.CancelledError:
            # the library cancels the invocation's task on INTERRUPT
            emit({"note": {"kind": "interrupt", "procedure": details.procedure}})
            raise application_error("wamp.error.canceled", [], {})
        return call_result(args, kwargs)

    async def op_unregister(self, cmd):
        reg_id = cmd["registration"]
        reg = self.peer_regs.pop(reg_id, None)
        if reg is not None and reg.active:
            await reg.unregister()
        else:
            await self.send_raw(message.Unregister, UnregisterRequest, self._unregister_reqs, reg_id)
        return {}

    async def op_call(self, cmd):
        args, kwargs = command_payload(cmd)
        if cmd.get("disclose_me"):
            raise Unsupported("disclose_me: Autobahn|Python 22.7.1's CallOptions has none")
        if cmd.get("cancelable") and "cancel_mode" in cmd:
            raise Unsupported("Autobahn|Python 22.7.1 sends CANCEL without a mode")
        progress = []
        opts = {}
        if cmd.get("receive_progress"):
            opts["on_progress"] = lambda *a, **kw: progress.append(payload(a, kw))
        if "timeout" in cmd:
            opts["timeout"] = cmd["timeout"]
        if opts:
            kwargs["options"] = CallOptions(**opts)
        fut = self.call(cmd["procedure"], *args, **kwargs)
        if cmd.get("cancelable"):
            request = next(r for r, c in self._call_reqs.items() if c.on_reply is fut)
            self.cancelable[cmd["id"]] = [fut, request, False]
        try:
            res = await fut  # a CallResult, see onMessage
        except asyncio.CancelledError:
            entry = self.cancelable.get(cmd["id"])
            if not entry or not entry[2]:
                raise
            # cancelled by op_cancel: answer with the router's ERROR
            try:
                raise await asyncio.wait_for(asyncio.shield(self.cancelled[entry[1]]), SLOW_LIMIT)
            except (KeyError, asyncio.TimeoutError):
                raise RuntimeError("no ERROR from the router after CANCEL") from None
        finally:
            self.cancelable.pop(cmd["id"], None)
        out = payload(res.results, res.kwresults)
        if cmd.get("receive_progress"):
            out["progress"] = progress
        return out

    async def op_cancel(self, cmd):
        entry = self.cancelable.get(cmd["call"])
        if entry is None:
            raise ValueError("no cancelable call %r in progress" % (cmd["call"],))
        fut, request, _ = entry
        entry[2] = True
        self.cancelled[request] = asyncio.get_running_loop().create_future()
        fut.cancel()  # the library's canceller sends CANCEL
        return {}

    async def op_leave(self, cmd):
        self.leaving = True
        if self._session_id and not self._goodbye_sent:
            self.leave()
        try:
            await asyncio.wait_for(asyncio.shield(self.ended), LEAVE_TIMEOUT)
        except asyncio.TimeoutError:
            log("no GOODBYE reply within %gs; closing the transport" % LEAVE_TIMEOUT)
            if self._transport:
                self.disconnect()
            await self.ended
        return {}

    def send_raw(self, msg_class, req_class, pending, ident):
        """UNSUBSCRIBE/UNREGISTER an ID the library does not know, so the router can answer."""
        if not self._transport:
            raise RuntimeError("not connected")
        request_id = self._request_id_gen.next()
        on_reply = txaio.create_future()
        pending[request_id] = req_class(request_id, on_reply, ident)
        self._transport.send(msg_class(request_id, ident))
        return on_reply


def call_result(args, kwargs):
    """A CallResult filled in directly: its constructor takes some kwargs for itself."""
    res = CallResult()
    res.results = list(args or [])
    res.kwresults = dict(kwargs or {})
    return res


def application_error(uri, args, kwargs):
    """An ApplicationError filled in directly: its constructor takes some kwargs for itself."""
    err = ApplicationError(uri, *(args or []))
    err.kwargs = dict(kwargs or {})
    return err


def progress_endpoint(count):
    """Send count progressive results [1] .. [count], then answer with the call's payload."""

    def endpoint(*args, **kwargs):
        details = kwargs.pop(DETAILS_ARG)
        if details.progress is None:
            raise application_error(NO_PROGRESS, ["the invocation offers no progressive results"], {})
        for i in range(1, count + 1):
            details.progress(i)
        return call_result(args, kwargs)

    return endpoint


def echo_endpoint(*args, **kwargs):
    """Answer a call with its own args and kwargs."""
    return call_result(args, kwargs)


def error_endpoint(*args, **kwargs):
    """Answer a call with com.example.error carrying its args and kwargs."""
    raise application_error(ERROR_URI, args, kwargs)


def describe_close(reason, text):
    return "%s: %s" % (reason, text) if text else str(reason)


# ---------------------------------------------------------------- commands


OPS = {
    "subscribe": PeerSession.op_subscribe,
    "unsubscribe": PeerSession.op_unsubscribe,
    "publish": PeerSession.op_publish,
    "register": PeerSession.op_register,
    "unregister": PeerSession.op_unregister,
    "call": PeerSession.op_call,
    "cancel": PeerSession.op_cancel,
    "leave": PeerSession.op_leave,
}


async def run_command(session, cmd):
    """Run one command and write its single reply line."""
    cid = cmd.get("id")
    try:
        op = OPS.get(cmd.get("op"))
        if op is None:
            raise Unsupported("op %r" % (cmd.get("op"),))
        unknown = set(cmd) - {"id", "op"} - FIELDS[cmd["op"]]
        if unknown:
            raise Unsupported("%s with %s" % (cmd["op"], ", ".join(sorted(unknown))))
        reply = {"id": cid, "ok": await op(session, cmd)}
    except ApplicationError as e:
        reply = {"id": cid, "error": {"uri": e.error, **payload(e.args, e.kwargs)}}
    except asyncio.CancelledError:
        raise
    except Unsupported as e:
        reply = {"id": cid, "fail": "unsupported: %s" % e}
    except Exception as e:  # a local failure (bad command, bad base64, lost transport, ...)
        reply = {"id": cid, "fail": "%s: %s" % (type(e).__name__, e)}
    try:
        emit(reply)
    except (TypeError, ValueError) as e:  # e.g. NaN or a MessagePack extension type
        emit({"id": cid, "fail": "result cannot be written as JSON: %s" % e})


def parse_command(line):
    """Decode one stdin line; None (after a note on stderr) when it is not a command."""
    try:
        cmd = json.loads(line)
    except ValueError as e:
        log("not JSON: %s" % e)
        return None
    if not isinstance(cmd, dict) or not isinstance(cmd.get("id"), int):
        log("command without an integer id: %s" % line[:200])
        return None
    return cmd


def start_stdin_reader(loop, on_line, on_eof):
    """Read stdin in a thread (works for pipes, files and terminals) and hand lines to the loop."""

    def reader():
        buf = b""
        while True:
            chunk = os.read(0, 1 << 16)
            if not chunk:
                break
            buf += chunk
            *lines, buf = buf.split(b"\n")
            for raw in lines:
                if raw.strip():
                    loop.call_soon_threadsafe(on_line, raw.decode("utf-8", "replace"))
        if buf.strip():
            loop.call_soon_threadsafe(on_line, buf.decode("utf-8", "replace"))
        loop.call_soon_threadsafe(on_eof)

    threading.Thread(target=reader, name="stdin", daemon=True).start()


# ---------------------------------------------------------------- main


async def connect(url, factory):
    """Open the RawSocket connection named by url."""
    loop = asyncio.get_running_loop()
    parts = urlsplit(url)
    if parts.scheme == "tcp":
        if not parts.hostname or not parts.port:
            raise ValueError("bad URL %r" % url)
        return await loop.create_connection(factory, parts.hostname, parts.port)
    if parts.scheme == "unix":
        return await loop.create_unix_connection(factory, parts.path)
    raise ValueError("unsupported URL scheme in %r" % url)


async def serve(session):
    """Dispatch stdin commands until the session ends; return the exit status."""
    loop = asyncio.get_running_loop()
    tasks = set()

    def on_line(line):
        cmd = parse_command(line)
        if cmd is not None:
            task = loop.create_task(run_command(session, cmd))
            tasks.add(task)
            task.add_done_callback(tasks.discard)

    async def leave_on_eof():
        if tasks:
            await asyncio.wait(set(tasks), timeout=LEAVE_TIMEOUT)
        log("stdin closed; leaving")
        await session.op_leave({})

    eof = []  # keeps the EOF task referenced
    start_stdin_reader(loop, on_line, lambda: eof.append(loop.create_task(leave_on_eof())))

    reason = await session.ended
    if session.leaving:
        # let the leave command (and requests the close failed) write their replies
        if tasks:
            await asyncio.wait(set(tasks), timeout=LEAVE_TIMEOUT)
        return 0
    emit({"closed": reason})
    return 2


async def main(opts):
    loop = asyncio.get_running_loop()
    txaio.config.loop = loop
    joined, ended = loop.create_future(), loop.create_future()
    factory = PeerFactory(
        lambda: PeerSession(ComponentConfig(realm=opts.realm), joined, ended),
        SERIALIZERS[opts.ser](),
        opts.maxlen,
        ended,
    )
    try:
        await connect(opts.url, factory)
    except (OSError, ValueError) as e:
        emit({"fatal": "cannot connect to %s: %s" % (opts.url, e)})
        return 1
    await asyncio.wait({joined, ended}, return_when=asyncio.FIRST_COMPLETED)
    if not joined.done():
        emit({"fatal": ended.result()})
        return 1
    session = joined.result()
    emit({"ready": {"session": session._session_id}})
    return await serve(session)


def parse_args(argv):
    p = argparse.ArgumentParser(description="wampedge interop peer (Autobahn|Python, asyncio)")
    p.add_argument("--url", required=True, help="tcp://HOST:PORT or unix:///PATH")
    p.add_argument("--realm", required=True)
    p.add_argument("--ser", required=True, choices=sorted(SERIALIZERS))
    p.add_argument("--maxlen", type=int, default=0, help="largest message announced (bytes)")
    opts = p.parse_args(argv)
    if opts.maxlen < 0:
        p.error("--maxlen must be positive")
    return opts


if __name__ == "__main__":
    options = parse_args(sys.argv[1:])
    txaio.use_asyncio()
    txaio.start_logging(out=sys.stderr, level=os.environ.get("PEER_LOG_LEVEL", "warn"))
    sys.exit(asyncio.run(main(options)))
