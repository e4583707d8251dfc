/*
 * wampmcu: a WAMP client for microcontrollers, on a serial line to wampedge.
 *
 * Portable C99: no malloc, no OS, no threads, no stdio. The application
 * gives the client one buffer (every frame in and out is parsed and built
 * in it), a write callback and a millisecond clock; it feeds received
 * bytes in as they arrive (wm_feed) and calls wm_poll(now) for timers.
 * Nothing is unaligned or endian-dependent, so the same code runs on an
 * 8-bit AVR, a Cortex-M and an ESP32.
 *
 * The client speaks the router's serial contract (README, "Serial lines"):
 * the RawSocket handshake announcing what its buffer can take, plain
 * framing or framing=cobs (COBS + CRC-16/CCITT-FALSE), PING answered with
 * PONG, HELLO/WELCOME/ABORT, GOODBYE, and resync: when a reply does not
 * come, the line turns to garbage or the router aborts, it pauses a little
 * more than 2 s and starts again from the handshake. Subscriptions and
 * registrations are declared once; they are set up again in every session.
 *
 *     static uint8_t buf[512];
 *     static wm_client wamp;
 *     static wm_subscription led;
 *
 *     wm_config cfg = { buf, sizeof buf, uart_write, NULL, "realm1" };
 *     wm_init(&wamp, &cfg);
 *     wm_subscribe(&wamp, &led, "com.example.led", on_led, NULL);
 *     wm_start(&wamp, millis());
 *     for (;;) {
 *         while (uart_available()) { uint8_t b = uart_read(); wm_feed(&wamp, &b, 1); }
 *         wm_poll(&wamp, millis());
 *     }
 *
 * Sending: wm_publish, wm_call, wm_yield and wm_yield_error begin a
 * message and return a writer (NULL when the client cannot send it now);
 * write the positional arguments as one array (and, if wanted, the keyword
 * arguments as one map) and finish with wm_send:
 *
 *     wm_writer *w = wm_publish(&wamp, "com.example.button", NULL, NULL);
 *     if (w) { wm_write_array(w, 1); wm_write_int(w, 42); wm_send(&wamp); }
 *
 * Messages are built in the buffer behind whatever is being received, and
 * written out before wm_send returns; begin and send one message at a
 * time, and do not call wm_feed between the two. In a callback the
 * message that called it stays readable while the answer is written.
 */
#ifndef WAMPMCU_H
#define WAMPMCU_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Calls and acknowledged publications that can wait for a reply at once. */
#ifndef WM_MAX_PENDING
#define WM_MAX_PENDING 4
#endif

/* ---------------------------------------------------------------------
 * MessagePack
 * ------------------------------------------------------------------ */

/* A cursor over MessagePack bytes, never past end. A read of the wrong
 * kind, or past the end, sets err and returns 0; err stays set and every
 * later read returns 0, so a handler can read everything and check once. */
typedef struct wm_reader {
    const uint8_t *p;
    const uint8_t *end;
    uint8_t err;
} wm_reader;

typedef enum wm_kind {
    WM_KIND_NONE, /* at the end, or err set */
    WM_KIND_NIL,
    WM_KIND_BOOL,
    WM_KIND_INT, /* any integer: read with wm_read_int or wm_read_uint */
    WM_KIND_FLOAT,
    WM_KIND_STR,
    WM_KIND_BIN,
    WM_KIND_ARRAY,
    WM_KIND_MAP,
    WM_KIND_EXT
} wm_kind;

wm_kind wm_peek(const wm_reader *r);
void wm_read_nil(wm_reader *r);
int wm_read_bool(wm_reader *r);
int64_t wm_read_int(wm_reader *r);   /* err if it does not fit int64_t */
uint64_t wm_read_uint(wm_reader *r); /* err if negative */
double wm_read_double(wm_reader *r); /* float32, float64 or an integer */
/* str and bin point into the buffer: not NUL-terminated. */
const char *wm_read_str(wm_reader *r, size_t *len);
const uint8_t *wm_read_bin(wm_reader *r, size_t *len);
/* Whether the next value is the string s (consumed if it is). */
int wm_read_str_is(wm_reader *r, const char *s);
uint32_t wm_read_array(wm_reader *r); /* the element count */
uint32_t wm_read_map(wm_reader *r);   /* the pair count */
void wm_skip(wm_reader *r);           /* one whole value, however nested */

/* A writer into a fixed region. Writing past the end sets err and writes
 * nothing more; wm_send then refuses the message. */
typedef struct wm_writer {
    uint8_t *p;
    uint8_t *end;
    uint8_t err;
} wm_writer;

void wm_write_nil(wm_writer *w);
void wm_write_bool(wm_writer *w, int v);
void wm_write_int(wm_writer *w, int64_t v);
void wm_write_uint(wm_writer *w, uint64_t v);
void wm_write_float(wm_writer *w, float v);
void wm_write_double(wm_writer *w, double v); /* float32 where double is 32-bit (AVR) */
void wm_write_str(wm_writer *w, const char *s, size_t len);
void wm_write_strz(wm_writer *w, const char *s);
void wm_write_bin(wm_writer *w, const void *data, size_t len);
void wm_write_array(wm_writer *w, uint32_t n);
void wm_write_map(wm_writer *w, uint32_t n);
/* Bytes that already are MessagePack, e.g. the rest of a reader:
 * wm_write_raw(w, r->p, (size_t)(r->end - r->p)). */
void wm_write_raw(wm_writer *w, const void *data, size_t len);

/* ---------------------------------------------------------------------
 * The client
 * ------------------------------------------------------------------ */

typedef struct wm_client wm_client;

typedef enum wm_state {
    WM_OFF,       /* before wm_start, after wm_leave */
    WM_PAUSED,    /* waiting before a new handshake (resync) */
    WM_HANDSHAKE, /* handshake sent, waiting for the router's reply */
    WM_JOINING,   /* HELLO sent, waiting for WELCOME */
    WM_SETUP,     /* in a session, subscriptions and registrations on their way */
    WM_READY,     /* in a session, everything declared is set up */
    WM_LEAVING    /* GOODBYE sent, waiting for the router's */
} wm_state;

/* What on_error reports. Those marked "resync" end the session; the
 * others drop one message and carry on. */
typedef enum wm_error {
    WM_ERR_HANDSHAKE = 1, /* router refused the handshake; text: NULL, code in len (resync) */
    WM_ERR_ABORT,         /* ABORT, or a CHALLENGE this client cannot answer; text: reason (resync) */
    WM_ERR_TIMEOUT,       /* a reply from the router did not come (resync) */
    WM_ERR_PROTOCOL,      /* a frame or message that makes no sense: lost sync (resync) */
    WM_ERR_TOO_BIG,       /* a frame larger than the buffer, dropped */
    WM_ERR_CRC,           /* a COBS packet damaged on the line, dropped */
    WM_ERR_UNKNOWN,       /* a message type this client does not handle, ignored */
    WM_ERR_REFUSED        /* a subscription or registration refused; text: the error URI */
} wm_error;

/* Results of wm_send. */
enum {
    WM_OK = 0,
    WM_E_STATE = -1, /* no session, or no message begun */
    WM_E_ROOM = -2,  /* larger than the buffer or the router's maximum */
    WM_E_ARGS = -3,  /* not [args] or [args] {kwargs} after the message */
    WM_E_BUSY = -4   /* WM_MAX_PENDING replies awaited already */
};

/* What a callback gets: the arguments, and for a reply the error. */
typedef struct wm_payload {
    wm_reader args;     /* an array: empty when the message had none */
    wm_reader kwargs;   /* a map: empty when the message had none */
    const char *error;  /* NULL, or the ERROR's URI (not NUL-terminated) */
    size_t error_len;
    uint64_t request;   /* an invocation's request: pass it to wm_yield */
} wm_payload;

/* An event, an invocation, a call's result or error, a publication's
 * acknowledgement or error. */
typedef void (*wm_handler)(wm_client *c, void *user, wm_payload *p);

/* The application's storage for one subscription or registration; the
 * fields are the client's. */
typedef struct wm_route {
    struct wm_route *next;
    const char *uri;
    wm_handler fn;
    void *user;
    uint64_t id;      /* the router's, in this session; 0: none */
    uint32_t request; /* awaiting SUBSCRIBED/REGISTERED; 0: not */
} wm_route;
typedef wm_route wm_subscription;
typedef wm_route wm_registration;

typedef struct wm_config {
    uint8_t *buf;    /* frames in and out; at least 64 bytes */
    size_t buf_size; /* announced to the router: the largest 2^(9+L) with room to spare */
    /* Writes all len bytes to the line before returning (or drops them). */
    void (*write)(void *io, const uint8_t *data, size_t len);
    void *io;
    const char *realm;
    uint8_t cobs;        /* 1: framing=cobs */
    void (*on_state)(wm_client *c, void *user, wm_state s);
    void (*on_error)(wm_client *c, void *user, wm_error e, const char *text, size_t len);
    void *user;
    uint16_t timeout_ms;   /* how long a reply from the router may take; 0: 1000 */
    uint16_t keepalive_ms; /* PING after this much silence in a session; 0: 500 */
    uint16_t pause_ms;     /* before a new handshake after a resync; 0: 2100 */
} wm_config;

typedef struct wm_pending {
    uint32_t request; /* 0: free */
    uint32_t deadline;
    wm_handler fn;
    void *user;
    uint8_t kind;
} wm_pending;

/* The client's state; its fields are private. */
struct wm_client {
    wm_config cfg;
    uint8_t state;
    uint8_t rx;        /* what the next byte from the line is */
    uint8_t in_nibble; /* the length nibble announced */
    uint8_t pings;     /* PINGs unanswered */
    uint8_t cobs_left; /* bytes left in the current COBS block */
    uint8_t cobs_code; /* the current block's code; 0: none yet */
    uint8_t cobs_over; /* the packet outgrew the buffer */
    uint8_t tx_fixed;  /* elements before the arguments in the message begun */
    uint8_t tx_kind;
    uint8_t tx_slot;
    size_t rx_len; /* bytes of the frame (plain) or packet (cobs) so far */
    uint32_t window;  /* plain: the last 4 bytes, while waiting for a handshake reply */
    uint32_t rx_need; /* plain: the whole frame's length, header included; or bytes to skip */
    uint32_t in_max;  /* the largest message announced */
    uint32_t out_max; /* the largest message the router takes */
    uint32_t now, deadline, ping_at; /* ping_at: the next PING, or giving up on the last */
    uint32_t next_request;
    uint32_t setup_left; /* SUBSCRIBED/REGISTERED awaited */
    uint64_t session;
    uint8_t *tx;       /* the frame begun: its 4-byte header */
    uint8_t *tx_args;  /* where its arguments start */
    wm_writer w;
    wm_route *subs, *regs;
    wm_pending pending[WM_MAX_PENDING];
};

/* cfg is copied; the buffer, realm and URIs must stay. */
void wm_init(wm_client *c, const wm_config *cfg);
/* Declared once, set up in every session (now, if one is up). */
void wm_subscribe(wm_client *c, wm_subscription *s, const char *topic, wm_handler fn, void *user);
void wm_register(wm_client *c, wm_registration *r, const char *procedure, wm_handler fn, void *user);
/* The first handshake goes out now. */
void wm_start(wm_client *c, uint32_t now);
/* Bytes from the line, any number at a time. Uses the clock of the last wm_poll. */
void wm_feed(wm_client *c, const uint8_t *data, size_t len);
/* Timers: call it often (every few ms) with a millisecond clock that may wrap. */
void wm_poll(wm_client *c, uint32_t now);
/* GOODBYE; the client goes to WM_OFF when the router answers (or does not). */
void wm_leave(wm_client *c);
wm_state wm_get_state(const wm_client *c);
uint64_t wm_session_id(const wm_client *c);

/* Begin a PUBLISH; ack non-NULL asks for an acknowledgement, called with
 * p->error NULL once the router has it (or with its ERROR, or
 * "wampmcu.error.timeout", or "wampmcu.error.session_lost"). */
wm_writer *wm_publish(wm_client *c, const char *topic, wm_handler ack, void *user);
/* Begin a CALL; fn gets the RESULT or ERROR (or the two local errors above
 * after timeout_ms, or when the session ends). */
wm_writer *wm_call(wm_client *c, const char *procedure, wm_handler fn, void *user, uint16_t timeout_ms);
/* Begin the answer to an invocation, in its handler or later. */
wm_writer *wm_yield(wm_client *c, uint64_t request);
wm_writer *wm_yield_error(wm_client *c, uint64_t request, const char *uri);
/* Finish the message begun and write it to the line. */
int wm_send(wm_client *c);

/* CRC-16/CCITT-FALSE, exposed for tests and for firmware that wants it. */
uint16_t wm_crc16(const uint8_t *data, size_t len);

#ifdef __cplusplus
}
#endif
#endif
