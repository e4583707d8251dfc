#!/usr/bin/env node
// wampedge interop peer: Autobahn|JS 22.11.1 (npm "autobahn") over WAMP RawSocket.
//
// The contract is test/interop/peers/PROTOCOL.md: start with
//
//     node peer.js --url tcp://HOST:PORT|unix:///PATH --realm REALM --ser json [--maxlen BYTES]
//
// then read one JSON command per line on stdin and write one JSON reply or event per line on
// stdout. Diagnostics go to stderr only.
//
// What Autobahn|JS 22.11.1 can and cannot do here (lib/transport/rawsocket.js):
//  - RawSocket under Node connects to {host, port} or to a Unix socket {path}; the transport's
//    url and serializers options are ignored. It speaks JSON only: the handshake always
//    announces JSON and a router answering with another serializer is refused. --ser msgpack
//    therefore ends in {"fatal":...} and exit status 1.
//  - Frames are JSON.stringify / JSON.parse, with no binary conversion in either direction: a
//    binary value stays the WAMP JSON string "\u0000"+base64, which is exactly the control
//    protocol's form, so payloads pass through unchanged. Never hand the library a Buffer or
//    Uint8Array: it would be written as {"type":"Buffer","data":[...]}.
//  - Numbers are JavaScript doubles: integers are exact up to 2^53, and a float with an
//    integral value (1.0) is written as an integer (1).
//  - The announced maximum length is a power of two, 2^9..2^24 (rawsocket_max_len_exp):
//    --maxlen is rounded up to one. Incoming frames are not checked against it. An outgoing
//    message over the router's limit is dropped by the library with only a debug log; this
//    peer watches that log and answers such a command with "fail" instead of never.
//  - Session.call resolves with args[0] for a single positional result and null for none, so
//    [] and [null] cannot be told apart; this peer reads the RESULT message itself.
//  - The socket is opened half-open and the router's FIN is never handled, so a router that
//    closes without GOODBYE (or dies) goes unnoticed; this peer closes its half on 'end'.
//  - Advanced Profile: subscribe, publish, register and call pass their options object to the
//    router as it is, so match, get_retained, retain, disclose_me, exclude*/eligible*, invoke,
//    timeout and receive_progress all reach the router as this peer sets them. EVENT details
//    (topic, publisher, retained) and INVOCATION details (procedure, caller) are handed to
//    handlers.
//  - Progressive results reach the caller through the deferred's notify(), which ES6 promises
//    lack; this peer gives the connection a deferred factory (use_deferred) with one.
//  - The callee does not announce call_canceling (commented out in WAMP_FEATURES) and has no
//    INTERRUPT handling: a router then offers it neither progressive results nor INTERRUPTs,
//    so the "progress" behavior answers com.example.no_progress and "slow" is unsupported.
//  - Cancel: promise.cancel({mode}). For any mode but kill the library rejects the call at once
//    with Error("Cancelled") and forgets it; the router's ERROR, which WAMP requires, then
//    counts as a protocol violation and the library closes the connection. This peer takes
//    that ERROR out of the stream in its tap and answers the call command with it.
//
// The taps (closeWhenRouterCloses, watchTransportErrors, tapTransport) lean on the library's
// internals as of 22.11.1 (net.connect, log.debug, session._socket); recheck them on upgrade.

'use strict';

const net = require('net');
const readline = require('readline');
const autobahn = require('autobahn');

// stdout carries protocol lines only; anything the library prints goes to stderr.
console.log = console.error;

function out(obj) {
   process.stdout.write(JSON.stringify(obj) + '\n');
}

function exitWith(obj, status) {
   process.stdout.write(JSON.stringify(obj) + '\n', () => process.exit(status));
}

function diag(...parts) {
   console.error('peer-js:', ...parts);
}

// ---------------------------------------------------------------- command line

function parseArgs(argv) {
   const opts = {};
   for (let i = 0; i < argv.length; i++) {
      const name = argv[i];
      if (!['--url', '--realm', '--ser', '--maxlen'].includes(name) || i + 1 >= argv.length) {
         throw new Error(`bad argument ${JSON.stringify(name)}; usage: peer.js --url URL --realm REALM --ser json|msgpack [--maxlen BYTES]`);
      }
      opts[name.slice(2)] = argv[++i];
   }
   for (const need of ['url', 'realm', 'ser']) {
      if (!opts[need]) throw new Error(`--${need} is required`);
   }
   return opts;
}

// maxLenExp turns --maxlen BYTES into the exponent RawSocket announces (2^9..2^24).
function maxLenExp(bytes) {
   const n = Number(bytes);
   if (!Number.isInteger(n) || n <= 0) throw new Error(`--maxlen ${bytes}: not a positive integer`);
   let exp = Math.ceil(Math.log2(n));
   if (exp < 9 || exp > 24) {
      diag(`--maxlen ${n}: RawSocket can announce only 2^9..2^24 bytes; clamped`);
      exp = Math.min(24, Math.max(9, exp));
   }
   return exp;
}

// transportOptions maps tcp://HOST:PORT and unix:///PATH onto the rawsocket factory's options.
function transportOptions(url, maxlen) {
   const u = new URL(url);
   const t = { type: 'rawsocket' };
   if (u.protocol === 'tcp:') {
      t.host = u.hostname.replace(/^\[(.*)\]$/, '$1');
      t.port = Number(u.port);
      if (!t.port) throw new Error(`${url}: no port`);
   } else if (u.protocol === 'unix:') {
      t.path = decodeURIComponent(u.pathname);
   } else {
      throw new Error(`${url}: only tcp:// and unix:// are RawSocket URLs`);
   }
   if (maxlen !== undefined) t.rawsocket_max_len_exp = maxLenExp(maxlen);
   return t;
}

// ---------------------------------------------------------------- transport taps

// The rawsocket transport opens its socket with allowHalfOpen and never listens for 'end':
// when the router closes the connection without GOODBYE (or dies), the library would wait
// forever. Closing our half too lets 'close' fire and the connection report the loss.
function closeWhenRouterCloses() {
   const connect = net.connect;
   net.connect = function (...args) {
      const socket = connect.apply(this, args);
      socket.on('end', () => socket.end());
      return socket;
   };
}

// The rawsocket transport reports its errors (refused handshake, connection refused, a frame
// over the router's limit) only through autobahn.log.debug; keep the last one.
const transportErrors = { count: 0, last: null };

function watchTransportErrors() {
   autobahn.log.debug = (what, err) => {
      if (what === 'RawSocket transport error') {
         transportErrors.count++;
         transportErrors.last = err;
         diag('transport error:', err && err.message ? err.message : err);
      }
   };
}

const MSG_ERROR = 8;
const MSG_CALL = 48;
const MSG_RESULT = 50;

// tapTransport wraps the session's transport: a message the library dropped as too big
// becomes an exception from the sending API call, and each RESULT is kept whole so that
// a call's reply has its exact args and kwargs. The CALL's options object, created per
// call by this peer, links the call to its request id.
function tapTransport(transport, calls, session) {
   const send = transport.send;
   transport.send = (msg) => {
      if (msg[0] === MSG_CALL && calls.byOptions.has(msg[2])) {
         calls.byOptions.get(msg[2]).request = msg[1];
      }
      const before = transportErrors.count;
      send(msg);
      if (transportErrors.count !== before) {
         const text = String(transportErrors.last && transportErrors.last.message || transportErrors.last);
         const hint = text === 'Frame too big' ? ' (longer than the router accepts)' : '';
         throw new Error(`not sent: ${text}${hint}`);
      }
   };
   const onmessage = transport.onmessage;
   transport.onmessage = (msg) => {
      if (msg[0] === MSG_RESULT) {
         const result = { args: msg[3] || [], kwargs: msg[4] || {} };
         if (msg[2] && msg[2].progress) calls.progress.set(msg[1], result);
         else calls.results.set(msg[1], result);
      }
      if (msg[0] === MSG_ERROR && msg[1] === MSG_CALL && calls.cancelled.has(msg[2])
          && !(msg[2] in session._call_reqs)) {
         // the answer to a call the library forgot when it was cancelled (see the top)
         calls.cancelled.get(msg[2])({ uri: msg[4], args: msg[5] || [], kwargs: msg[6] || {} });
         calls.cancelled.delete(msg[2]);
         return;
      }
      onmessage(msg);
   };
}

// ---------------------------------------------------------------- commands

// Unsupported is a command this library cannot carry out as asked.
class Unsupported extends Error {}

// deferredWithProgress is an ES6 deferred with the notify() that progressive results need.
function deferredWithProgress() {
   const d = {};
   d.promise = new Promise((resolve, reject) => {
      d.resolve = resolve;
      d.reject = reject;
   });
   d.notify = (value) => {
      if (d.promise.onProgress) d.promise.onProgress(value);
   };
   return d;
}

// The members each command may have; any other is refused, never ignored.
const FIELDS = {
   subscribe: ['topic', 'match', 'get_retained'],
   unsubscribe: ['subscription'],
   publish: ['topic', 'args', 'kwargs', 'acknowledge', 'exclude_me', 'disclose_me', 'retain',
      'exclude', 'exclude_authid', 'exclude_authrole', 'eligible', 'eligible_authid', 'eligible_authrole'],
   register: ['procedure', 'behavior', 'match', 'invoke', 'count'],
   unregister: ['registration'],
   call: ['procedure', 'args', 'kwargs', 'receive_progress', 'timeout', 'disclose_me', 'cancelable', 'cancel_mode'],
   cancel: ['call'],
   leave: [],
};

const PUBLISH_OPTIONS = ['exclude_me', 'disclose_me', 'retain', 'exclude', 'exclude_authid',
   'exclude_authrole', 'eligible', 'eligible_authid', 'eligible_authrole'];

const SLOW_LIMIT_MS = 10000;

function replyError(id, e) {
   if (e instanceof autobahn.Error) {
      out({ id, error: { uri: e.error, args: e.args || [], kwargs: e.kwargs || {} } });
   } else if (e instanceof Unsupported) {
      out({ id, fail: 'unsupported: ' + e.message });
   } else {
      out({ id, fail: e && e.message ? e.message : String(e) });
   }
}

function makeOps(state) {
   const { session } = state;
   const seenEvents = new WeakSet();

   // autobahn calls every handler of a subscription with one Event object: print it once,
   // even when the same topic was subscribed twice (the router returns the same id).
   function onEvent(args, kwargs, details, sub) {
      if (seenEvents.has(details)) return;
      seenEvents.add(details);
      const d = { topic: details.topic, publisher: details.publisher, retained: details.retained };
      out({ event: { subscription: sub.id, publication: details.publication, args, kwargs, details: d } });
   }

   const behaviors = {
      echo: () => (args, kwargs) => new autobahn.Result(args, kwargs),
      error: () => (args, kwargs) => { throw new autobahn.Error('com.example.error', args, kwargs); },
      whoami: () => (args, kwargs, details) => new autobahn.Result([], {
         procedure: details.procedure,
         caller: details.caller === undefined ? null : details.caller,
         callee: session.id,
      }),
      progress: (cmd) => (args, kwargs, details) => {
         if (!details.progress) {
            throw new autobahn.Error('com.example.no_progress', ['the invocation offers no progressive results']);
         }
         for (let i = 1; i <= (cmd.count || 3); i++) details.progress([i]);
         return new autobahn.Result(args, kwargs);
      },
      slow: () => {
         throw new Unsupported(`behavior slow: Autobahn|JS ${autobahn.version} has no INTERRUPT handling (its callee does not announce call_canceling)`);
      },
   };

   return {
      async subscribe(cmd) {
         const options = {};
         if (cmd.match !== undefined) options.match = cmd.match;
         if (cmd.get_retained !== undefined) options.get_retained = cmd.get_retained;
         const sub = await session.subscribe(cmd.topic, onEvent, options);
         const list = state.subscriptions.get(sub.id) || [];
         list.push(sub);
         state.subscriptions.set(sub.id, list);
         return { subscription: sub.id };
      },

      async unsubscribe(cmd) {
         const list = state.subscriptions.get(cmd.subscription);
         if (!list) throw new Error(`no subscription ${cmd.subscription} in this session`);
         state.subscriptions.delete(cmd.subscription);
         // the library sends UNSUBSCRIBE when the last handler goes
         for (const sub of list) await session.unsubscribe(sub);
         return {};
      },

      async publish(cmd) {
         const options = {};
         if (cmd.acknowledge) options.acknowledge = true;
         for (const name of PUBLISH_OPTIONS) {
            if (cmd[name] !== undefined) options[name] = cmd[name];
         }
         const published = session.publish(cmd.topic, cmd.args, cmd.kwargs, options);
         if (!cmd.acknowledge) return {};
         const pub = await published;
         return { publication: pub.id };
      },

      async register(cmd) {
         const behavior = Object.prototype.hasOwnProperty.call(behaviors, cmd.behavior) ? behaviors[cmd.behavior] : null;
         if (!behavior) throw new Unsupported(`behavior ${JSON.stringify(cmd.behavior)}`);
         const endpoint = behavior(cmd);
         const options = {};
         if (cmd.match !== undefined) options.match = cmd.match;
         if (cmd.invoke !== undefined) options.invoke = cmd.invoke;
         const reg = await session.register(cmd.procedure, endpoint, options);
         state.registrations.set(reg.id, reg);
         return { registration: reg.id };
      },

      async unregister(cmd) {
         const reg = state.registrations.get(cmd.registration);
         if (!reg) throw new Error(`no registration ${cmd.registration} in this session`);
         await session.unregister(reg);
         state.registrations.delete(cmd.registration);
         return {};
      },

      async call(cmd) {
         const options = {};
         if (cmd.receive_progress) options.receive_progress = true;
         if (cmd.timeout !== undefined) options.timeout = cmd.timeout;
         if (cmd.disclose_me !== undefined) options.disclose_me = cmd.disclose_me;
         if (cmd.cancel_mode !== undefined && !['skip', 'kill', 'killnowait'].includes(cmd.cancel_mode)) {
            throw new Unsupported(`cancel mode ${JSON.stringify(cmd.cancel_mode)}`);
         }
         const entry = { request: null, cancelled: false };
         state.calls.byOptions.set(options, entry);
         const progress = [];
         try {
            const promise = session.call(cmd.procedure, cmd.args, cmd.kwargs, options);
            promise.onProgress = () => {
               // the library hands over args[0] only: take the message the tap kept
               progress.push(state.calls.progress.get(entry.request));
               state.calls.progress.delete(entry.request);
            };
            if (cmd.cancelable) state.pendingCalls.set(cmd.id, { promise, entry, mode: cmd.cancel_mode });
            try {
               await promise;
            } catch (e) {
               if (!(entry.cancelled && e instanceof autobahn.Error && e.error === 'Cancelled')) throw e;
               // rejected locally: answer with the router's ERROR, taken out by the tap
               const routerError = await entry.routerError;
               throw new autobahn.Error(routerError.uri, routerError.args, routerError.kwargs);
            }
            const result = state.calls.results.get(entry.request);
            if (!result) throw new Error('call resolved without a RESULT message');
            if (cmd.receive_progress) result.progress = progress;
            return result;
         } finally {
            state.pendingCalls.delete(cmd.id);
            state.calls.byOptions.delete(options);
            state.calls.results.delete(entry.request);
            state.calls.progress.delete(entry.request);
            state.calls.cancelled.delete(entry.request);
         }
      },

      async cancel(cmd) {
         const pending = state.pendingCalls.get(cmd.call);
         if (!pending) throw new Error(`no cancelable call ${cmd.call} in progress`);
         const { promise, entry, mode } = pending;
         entry.cancelled = true;
         entry.routerError = new Promise((resolve, reject) => {
            state.calls.cancelled.set(entry.request, resolve);
            setTimeout(() => reject(new Error(`no ERROR from the router within ${SLOW_LIMIT_MS} ms of CANCEL`)), SLOW_LIMIT_MS).unref();
         });
         entry.routerError.catch(() => {});
         promise.cancel(mode === undefined ? undefined : { mode });
         return {};
      },

      leave(cmd) {
         return new Promise((resolve) => {
            state.leaving = { id: cmd.id, resolve };
            state.connection.close('wamp.close.normal');
         });
      },
   };
}

async function runCommand(state, ops, cmd) {
   const op = Object.prototype.hasOwnProperty.call(ops, cmd.op) ? ops[cmd.op] : null;
   if (!op) {
      out({ id: cmd.id, fail: `unsupported: op ${JSON.stringify(cmd.op)}` });
      return;
   }
   const unknown = Object.keys(cmd).filter((k) => k !== 'id' && k !== 'op' && !FIELDS[cmd.op].includes(k));
   if (unknown.length) {
      out({ id: cmd.id, fail: `unsupported: ${cmd.op} with ${unknown.join(', ')}` });
      return;
   }
   try {
      const result = await op(cmd);
      if (cmd.op !== 'leave') out({ id: cmd.id, ok: result });
   } catch (e) {
      replyError(cmd.id, e);
   }
}

function readCommands(state) {
   const ops = makeOps(state);
   const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
   let pending = 0;
   let eof = false;
   const settle = () => {
      if (--pending === 0 && eof && !state.leaving) stdinClosed(state);
   };
   rl.on('line', (line) => {
      if (line.trim() === '') return;
      let cmd;
      try {
         cmd = JSON.parse(line);
      } catch (e) {
         diag('not JSON, ignored:', line.slice(0, 200));
         return;
      }
      if (cmd === null || typeof cmd !== 'object' || !Number.isInteger(cmd.id)) {
         diag('command without an integer id, ignored:', line.slice(0, 200));
         return;
      }
      pending++;
      runCommand(state, ops, cmd).finally(settle);
   });
   rl.on('close', () => {
      eof = true;
      if (pending === 0 && !state.leaving) stdinClosed(state);
   });
}

// With stdin gone and nothing pending, leave quietly.
function stdinClosed(state) {
   diag('stdin closed; leaving');
   state.leaving = { id: null, resolve: () => {} };
   try {
      state.connection.close('wamp.close.normal');
   } catch (e) {
      process.exit(0);
   }
}

// ---------------------------------------------------------------- connection

// closeText says why the connection ended: the router's GOODBYE or ABORT reason, else what
// the transport saw (reason is autobahn's "unreachable", "lost" or "closed").
function closeText(reason, details) {
   if (details.reason) return `${details.reason}${details.message ? ': ' + details.message : ''}`;
   const e = reason !== 'closed' && transportErrors.last;
   return `connection ${reason} without GOODBYE${e ? ' (' + (e.message || e) + ')' : ''}`;
}

function onClose(state, reason, details) {
   const text = closeText(reason, details);
   if (!state.session) {
      exitWith({ fatal: (details.reason ? 'ABORT ' : 'cannot join: ') + text }, 1);
   } else if (state.leaving && details.reason) {
      // the router answered our GOODBYE: the exchange is complete
      state.leaving.resolve();
      if (state.leaving.id === null) process.exit(0);
      exitWith({ id: state.leaving.id, ok: {} }, 0);
   } else {
      if (state.leaving && state.leaving.id !== null) out({ id: state.leaving.id, fail: text });
      exitWith({ closed: text }, 2);
   }
   return true; // no reconnect
}

function main() {
   let opts;
   let transport;
   try {
      opts = parseArgs(process.argv.slice(2));
      if (opts.ser !== 'json') {
         throw new Error(`--ser ${opts.ser}: Autobahn|JS ${autobahn.version} speaks only JSON over RawSocket`);
      }
      transport = transportOptions(opts.url, opts.maxlen);
   } catch (e) {
      exitWith({ fatal: e.message }, 1);
      return;
   }

   watchTransportErrors();
   closeWhenRouterCloses();
   process.on('unhandledRejection', (e) => diag('unhandled rejection:', e));

   const state = {
      connection: null,
      session: null,
      leaving: null,
      subscriptions: new Map(), // subscription id -> [autobahn.Subscription]
      registrations: new Map(), // registration id -> autobahn.Registration
      calls: { byOptions: new Map(), results: new Map(), progress: new Map(), cancelled: new Map() },
      pendingCalls: new Map(), // call command id -> {promise, entry, mode}
   };

   const connection = new autobahn.Connection({
      realm: opts.realm,
      transports: [transport],
      max_retries: 0,
      retry_if_unreachable: false,
      use_deferred: deferredWithProgress, // ES6 promises, with notify() for progressive results
      // the error behavior throws on purpose; report anything else
      on_user_error: (e, msg) => { if (!(e instanceof autobahn.Error)) diag(msg || 'error:', e); },
      on_internal_error: (e, msg) => diag(msg || 'internal error:', e),
   });
   state.connection = connection;

   connection.onopen = (session) => {
      state.session = session;
      tapTransport(session._socket, state.calls, session);
      out({ ready: { session: session.id } });
      readCommands(state);
   };
   connection.onclose = (reason, details) => onClose(state, reason, details);
   connection.open();
}

main();
