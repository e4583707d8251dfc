/* wampmcu: the session, the framing (plain and COBS) and the timers. */
#include "wampmcu.h"

#include <string.h>

/* WAMP message types (WAMP.md §1.2). */
enum {
    HELLO = 1, WELCOME = 2, ABORT = 3, CHALLENGE = 4, GOODBYE = 6, ERROR = 8,
    PUBLISH = 16, PUBLISHED = 17, SUBSCRIBE = 32, SUBSCRIBED = 33, UNSUBSCRIBED = 35,
    EVENT = 36, CALL = 48, RESULT = 50, REGISTER = 64, REGISTERED = 65,
    UNREGISTERED = 67, INVOCATION = 68, INTERRUPT = 69, YIELD = 70
};

/* RawSocket frame types. */
enum { FRAME_MSG = 0, FRAME_PING = 1, FRAME_PONG = 2 };

/* What the next byte from the line is (plain framing). */
enum { RX_IGNORE, RX_REPLY, RX_FRAME, RX_SKIP, RX_COBS };

#define HEADER 4
#define CRC 2

static const uint8_t empty[2] = {0x90, 0x80}; /* [] and {} */
static const char err_timeout[] = "wampmcu.error.timeout";
static const char err_lost[] = "wampmcu.error.session_lost";

static int due(uint32_t now, uint32_t t) { return (int32_t)(now - t) >= 0; }

/* ---------------------------------------------------------------------
 * CRC and COBS
 * ------------------------------------------------------------------ */

uint16_t wm_crc16(const uint8_t *data, size_t len)
{
    uint16_t crc = 0xffff;
    while (len--) {
        uint8_t i;
        crc ^= (uint16_t)(*data++ << 8);
        for (i = 0; i < 8; i++)
            crc = (uint16_t)(crc & 0x8000 ? crc << 1 ^ 0x1021 : crc << 1);
    }
    return crc;
}

static void out(wm_client *c, const uint8_t *p, size_t n) { c->cfg.write(c->cfg.io, p, n); }

/* Writes p as one COBS packet, run by run straight from p: a code byte,
 * then up to 254 non-zero bytes; then the closing 00. */
static void cobs_out(wm_client *c, const uint8_t *p, size_t n)
{
    static const uint8_t zero = 0;
    size_t i = 0;
    for (;;) {
        uint8_t code;
        size_t run = 0;
        while (i + run < n && p[i + run] != 0 && run < 254)
            run++;
        code = (uint8_t)(run + 1);
        out(c, &code, 1);
        if (run)
            out(c, p + i, run);
        i += run;
        if (i == n)
            break;
        if (run < 254)
            i++; /* the 00 the code byte stands for */
    }
    out(c, &zero, 1);
}

/* Sends the frame at f: its header is filled in here, the message (len
 * bytes) follows it, and with COBS two bytes after it hold the CRC. */
static void frame_out(wm_client *c, uint8_t *f, uint8_t type, uint32_t len)
{
    f[0] = type;
    f[1] = (uint8_t)(len >> 16);
    f[2] = (uint8_t)(len >> 8);
    f[3] = (uint8_t)len;
    if (c->cfg.cobs) {
        uint16_t crc = wm_crc16(f, HEADER + (size_t)len);
        f[HEADER + len] = (uint8_t)(crc >> 8);
        f[HEADER + len + 1] = (uint8_t)crc;
        cobs_out(c, f, HEADER + (size_t)len + CRC);
    } else {
        out(c, f, HEADER + (size_t)len);
    }
}

/* ---------------------------------------------------------------------
 * States
 * ------------------------------------------------------------------ */

static void set_state(wm_client *c, wm_state s)
{
    if (c->state == s)
        return;
    c->state = (uint8_t)s;
    if (c->cfg.on_state)
        c->cfg.on_state(c, c->cfg.user, s);
}

static void report(wm_client *c, wm_error e, const char *text, size_t len)
{
    if (c->cfg.on_error)
        c->cfg.on_error(c, c->cfg.user, e, text, len);
}

static void rx_reset(wm_client *c)
{
    c->rx_len = 0;
    c->window = 0;
    c->cobs_left = c->cobs_code = c->cobs_over = 0;
}

static int in_session(const wm_client *c) { return c->state == WM_SETUP || c->state == WM_READY; }

static int payload(wm_reader *r, uint32_t m, wm_payload *p);
static void reply(wm_client *c, wm_pending *pd, wm_payload *p);

/* Hands a local error to a waiting callback. */
static void fail_pending(wm_client *c, wm_pending *pd, const char *uri)
{
    wm_payload p;
    memset(&p, 0, sizeof p);
    payload(NULL, 0, &p);
    p.error = uri;
    p.error_len = strlen(uri);
    reply(c, pd, &p);
}

static void forget(wm_route *r)
{
    for (; r; r = r->next)
        r->id = r->request = 0;
}

/* The session is over: every reply awaited fails, and after pause_ms a
 * new handshake goes out (with COBS a handshake that went unanswered is
 * simply repeated: the router never waits for silence there). */
static void end_session(wm_client *c, wm_state next, uint32_t wait)
{
    uint8_t i;
    c->w.err = 1; /* a message begun can no longer be sent */
    c->tx = NULL;
    c->session = 0;
    c->setup_left = 0;
    forget(c->subs);
    forget(c->regs);
    rx_reset(c);
    c->rx = RX_IGNORE;
    c->deadline = c->now + wait;
    set_state(c, next);
    for (i = 0; i < WM_MAX_PENDING; i++)
        if (c->pending[i].request)
            fail_pending(c, &c->pending[i], err_lost);
}

static void resync(wm_client *c, wm_error why, const char *text, size_t len)
{
    report(c, why, text, len);
    end_session(c, WM_PAUSED, c->cfg.pause_ms);
}

/* Out of step with the router. */
static void lost(wm_client *c) { resync(c, WM_ERR_PROTOCOL, NULL, 0); }

static void send_handshake(wm_client *c)
{
    uint8_t hs[HEADER + CRC];
    static const uint8_t zero = 0;
    hs[0] = 0x7f;
    hs[1] = (uint8_t)(c->in_nibble << 4 | 2); /* 2: MessagePack */
    hs[2] = hs[3] = 0;
    rx_reset(c);
    if (c->cfg.cobs) {
        uint16_t crc = wm_crc16(hs, HEADER);
        hs[4] = (uint8_t)(crc >> 8);
        hs[5] = (uint8_t)crc;
        out(c, &zero, 1); /* ends any packet the router has half of */
        cobs_out(c, hs, sizeof hs);
        c->rx = RX_COBS;
    } else {
        out(c, hs, HEADER);
        c->rx = RX_REPLY;
    }
    c->deadline = c->now + c->cfg.timeout_ms;
    set_state(c, WM_HANDSHAKE);
}

/* ---------------------------------------------------------------------
 * Building messages
 * ------------------------------------------------------------------ */

/* Begins a message of type t with n elements before the arguments: the
 * frame goes behind whatever is being received, its header first. */
static wm_writer *begin(wm_client *c, uint8_t type, uint8_t n, uint8_t kind)
{
    uint8_t *end = c->cfg.buf + c->cfg.buf_size - CRC;
    uint8_t *f = c->cfg.buf + c->rx_len;
    c->tx = NULL;
    c->w.err = 1;
    if (f + HEADER + 2 > end)
        return NULL;
    c->tx = f;
    c->tx_fixed = n;
    c->tx_kind = kind;
    c->tx_slot = 0xff;
    c->w.p = f + HEADER;
    c->w.end = end;
    c->w.err = 0;
    wm_write_array(&c->w, n); /* patched in wm_send once the arguments are known */
    wm_write_uint(&c->w, type);
    return &c->w;
}

/* After the fixed elements: where the arguments start. */
static void mark_args(wm_client *c) { c->tx_args = c->w.p; }

/* A free slot for a reply, reserved for the message begun. */
static wm_writer *await(wm_client *c, wm_handler fn, void *user, uint16_t timeout)
{
    uint8_t i;
    for (i = 0; i < WM_MAX_PENDING; i++) {
        wm_pending *pd = &c->pending[i];
        if (pd->request == 0) {
            pd->request = c->next_request;
            pd->deadline = c->now + timeout;
            pd->fn = fn;
            pd->user = user;
            pd->kind = c->tx_kind;
            c->tx_slot = i;
            return &c->w;
        }
    }
    c->w.err = 1;
    c->tx = NULL;
    return NULL;
}

static uint32_t request_id(wm_client *c)
{
    uint32_t id = c->next_request++;
    if (c->next_request == 0)
        c->next_request = 1;
    return id;
}

/* The messages the application begins, all [type, (INVOCATION,) request,
 * {options}, uri?]; fn: a reply is awaited. */
static wm_writer *start(wm_client *c, uint8_t type, uint64_t request, const char *uri, wm_handler fn, void *user,
                        uint16_t timeout)
{
    wm_writer *w;
    if (!in_session(c) || !(w = begin(c, type, (uint8_t)(3 + (uri != NULL) + (type == ERROR)), type)))
        return NULL;
    if (fn && !await(c, fn, user, timeout))
        return NULL;
    if (type == ERROR)
        wm_write_uint(w, INVOCATION);
    wm_write_uint(w, type == PUBLISH || type == CALL ? request_id(c) : request);
    if (fn && type == PUBLISH) {
        wm_write_map(w, 1);
        wm_write_strz(w, "acknowledge");
        wm_write_bool(w, 1);
    } else {
        wm_write_map(w, 0);
    }
    if (uri)
        wm_write_strz(w, uri);
    mark_args(c);
    return w;
}

wm_writer *wm_publish(wm_client *c, const char *topic, wm_handler ack, void *user)
{
    return start(c, PUBLISH, 0, topic, ack, user, c->cfg.timeout_ms);
}

wm_writer *wm_call(wm_client *c, const char *procedure, wm_handler fn, void *user, uint16_t timeout_ms)
{
    return start(c, CALL, 0, procedure, fn, user, timeout_ms);
}

wm_writer *wm_yield(wm_client *c, uint64_t request) { return start(c, YIELD, request, NULL, NULL, NULL, 0); }

wm_writer *wm_yield_error(wm_client *c, uint64_t request, const char *uri)
{
    return start(c, ERROR, request, uri, NULL, NULL, 0);
}

int wm_send(wm_client *c)
{
    wm_reader r;
    uint8_t n = 0;
    uint32_t len;
    int status = WM_OK;
    if (!c->tx)
        return WM_E_STATE;
    /* What follows the fixed elements must be [args] or [args] {kwargs}. */
    r.p = c->tx_args;
    r.end = c->w.p;
    r.err = 0;
    while (r.p < r.end && !r.err) {
        if (wm_peek(&r) != (n == 0 ? WM_KIND_ARRAY : WM_KIND_MAP) || n == 2)
            r.err = 1;
        wm_skip(&r);
        n++;
    }
    len = (uint32_t)(c->w.p - (c->tx + HEADER));
    if (c->w.err || len > c->out_max)
        status = WM_E_ROOM;
    else if (r.err)
        status = WM_E_ARGS;
    if (status == WM_OK) {
        c->tx[HEADER] = (uint8_t)(0x90 | (c->tx_fixed + n));
        frame_out(c, c->tx, FRAME_MSG, len);
    } else if (c->tx_slot != 0xff) {
        c->pending[c->tx_slot].request = 0;
    }
    c->tx = NULL;
    c->w.err = 1;
    return status;
}

/* Sends a message with no arguments (the fixed elements written). */
static void send_fixed(wm_client *c)
{
    mark_args(c);
    wm_send(c);
}

static void send_route(wm_client *c, wm_route *r, uint8_t type)
{
    wm_writer *w = begin(c, type, 4, type);
    if (!w)
        return;
    r->request = request_id(c);
    c->setup_left++;
    c->deadline = c->now + c->cfg.timeout_ms;
    wm_write_uint(w, r->request);
    wm_write_map(w, 0);
    wm_write_strz(w, r->uri);
    send_fixed(c);
}

/* ---------------------------------------------------------------------
 * Receiving messages
 * ------------------------------------------------------------------ */

static void route_done(wm_client *c, wm_route *r, uint64_t id)
{
    r->id = id;
    r->request = 0;
    if (c->setup_left && --c->setup_left == 0 && c->state == WM_SETUP)
        set_state(c, WM_READY);
}

static wm_route *route_by_request(wm_route *r, uint64_t req)
{
    for (; r; r = r->next)
        if (r->request && r->request == req)
            return r;
    return NULL;
}

static wm_pending *pending_by(wm_client *c, uint64_t req, uint8_t kind)
{
    uint8_t i;
    for (i = 0; i < WM_MAX_PENDING; i++)
        if (c->pending[i].request && c->pending[i].request == req && c->pending[i].kind == kind)
            return &c->pending[i];
    return NULL;
}

static void goodbye(wm_client *c, const char *reason)
{
    if (begin(c, GOODBYE, 3, GOODBYE)) {
        wm_write_map(&c->w, 0);
        wm_write_strz(&c->w, reason);
        send_fixed(c);
    }
}

/* The optional [args] and {kwargs} that end a message: m elements left. */
static int payload(wm_reader *r, uint32_t m, wm_payload *p)
{
    p->args.p = empty;
    p->args.end = p->kwargs.p = empty + 1;
    p->kwargs.end = empty + 2;
    p->args.err = p->kwargs.err = 0;
    if (m == 0)
        return 1;
    {
        p->args.p = r->p;
        if (wm_peek(r) != WM_KIND_ARRAY)
            return 0;
        wm_skip(r);
        p->args.end = r->p;
    }
    if (m >= 2) {
        p->kwargs.p = r->p;
        if (wm_peek(r) != WM_KIND_MAP)
            return 0;
        wm_skip(r);
        p->kwargs.end = r->p;
    }
    return m <= 2 && !r->err;
}

static void reply(wm_client *c, wm_pending *pd, wm_payload *p)
{
    wm_handler fn = pd->fn;
    pd->request = 0;
    if (fn)
        fn(c, pd->user, p);
}

static void session_up(wm_client *c)
{
    wm_route *r;
    c->setup_left = 0;
    c->ping_at = c->now + c->cfg.keepalive_ms;
    c->pings = 0;
    set_state(c, WM_SETUP);
    for (r = c->subs; r && in_session(c); r = r->next)
        send_route(c, r, SUBSCRIBE);
    for (r = c->regs; r && in_session(c); r = r->next)
        send_route(c, r, REGISTER);
    c->deadline = c->now + c->cfg.timeout_ms;
    if (c->setup_left == 0)
        set_state(c, WM_READY);
}

/* A router message's leading fields: every message the client takes is
 * [type, up to three IDs, {details}, "uri"?, [args]?, {kwargs}?], each
 * part there or not, so one pass reads them all. */
typedef struct fields {
    uint64_t id[3];
    uint8_t ids, details;
    wm_payload p; /* p.error: the URI after the details */
} fields;

static int read_fields(wm_reader *r, uint32_t n, fields *m)
{
    memset(m, 0, sizeof *m);
    while (n && m->ids < 3 && wm_peek(r) == WM_KIND_INT) {
        m->id[m->ids++] = wm_read_uint(r);
        n--;
    }
    if (n && wm_peek(r) == WM_KIND_MAP) {
        wm_skip(r);
        m->details = 1;
        n--;
        if (n && wm_peek(r) == WM_KIND_STR) {
            m->p.error = wm_read_str(r, &m->p.error_len);
            n--;
        }
    }
    return payload(r, n, &m->p) && !r->err;
}

static void handle(wm_client *c, wm_route *route, wm_payload *p)
{
    wm_payload each = *p; /* every handler reads from the start */
    route->fn(c, route->user, &each);
}

/* The types a router sends a client that this client reads. */
static const uint8_t known[] = {WELCOME, ABORT, CHALLENGE, GOODBYE, ERROR, PUBLISHED, SUBSCRIBED,
                                UNSUBSCRIBED, EVENT, RESULT, REGISTERED, UNREGISTERED, INVOCATION, INTERRUPT};

/* One message from the router, checked whole before it is acted on. */
static void on_message(wm_client *c, const uint8_t *msg, size_t len)
{
    wm_reader r;
    fields m;
    uint32_t n;
    uint8_t type;
    wm_route *route;
    wm_pending *pd;

    r.p = msg;
    r.end = msg + len;
    r.err = 0;
    n = wm_read_array(&r);
    {
        uint64_t t = wm_read_uint(&r);
        type = (uint8_t)(t > 0xff ? 0 : t);
    }
    if (n == 0 || r.err)
        goto broken;
    if (!type || !memchr(known, type, sizeof known)) {
        report(c, WM_ERR_UNKNOWN, NULL, 0);
        return;
    }
    if (!read_fields(&r, n - 1, &m) || r.p != r.end)
        goto broken;

    if (c->state == WM_JOINING) {
        if (type == WELCOME && m.ids == 1 && m.details) {
            c->session = m.id[0];
            session_up(c);
            return;
        }
        if (type == ABORT || type == CHALLENGE) {
            resync(c, WM_ERR_ABORT, m.p.error, m.p.error_len);
            return;
        }
        goto broken;
    }
    if (!in_session(c) && c->state != WM_LEAVING)
        return;

    switch (type) {
    case ABORT:
        resync(c, WM_ERR_ABORT, m.p.error, m.p.error_len);
        return;
    case GOODBYE:
        if (c->state == WM_LEAVING) {
            end_session(c, WM_OFF, 0);
            return;
        }
        goodbye(c, "wamp.close.goodbye_and_out");
        /* The router ends the session and waits for a handshake. */
        end_session(c, WM_PAUSED, 0);
        return;
    case ERROR: /* [8, type, request, details, uri, args?, kwargs?] */
        if (m.ids != 2 || !m.p.error)
            break;
        if (m.id[0] == SUBSCRIBE || m.id[0] == REGISTER) {
            route = route_by_request(m.id[0] == SUBSCRIBE ? c->subs : c->regs, m.id[1]);
            if (route) {
                report(c, WM_ERR_REFUSED, m.p.error, m.p.error_len);
                route_done(c, route, 0);
            }
        } else if ((pd = pending_by(c, m.id[1], (uint8_t)m.id[0])) != NULL) {
            reply(c, pd, &m.p);
        }
        return;
    case PUBLISHED: /* [17, request, publication] */
    case RESULT:    /* [50, request, details, args?, kwargs?] */
        if (m.ids < 1 || m.p.error)
            break;
        pd = pending_by(c, m.id[0], type == PUBLISHED ? PUBLISH : CALL);
        if (pd)
            reply(c, pd, &m.p);
        return;
    case SUBSCRIBED: /* [33, request, subscription] */
    case REGISTERED: /* [65, request, registration] */
        if (m.ids != 2)
            break;
        route = route_by_request(type == SUBSCRIBED ? c->subs : c->regs, m.id[0]);
        if (route)
            route_done(c, route, m.id[1]);
        return;
    case EVENT:      /* [36, subscription, publication, details, args?, kwargs?] */
    case INVOCATION: /* [68, request, registration, details, args?, kwargs?] */
        if (m.ids != 2 || !m.details || m.p.error)
            break;
        if (type == EVENT) {
            m.p.request = m.id[1];
            for (route = c->subs; route && in_session(c); route = route->next)
                if (route->id == m.id[0])
                    handle(c, route, &m.p);
            return;
        }
        m.p.request = m.id[0];
        for (route = c->regs; route; route = route->next)
            if (route->id == m.id[1]) {
                handle(c, route, &m.p);
                return;
            }
        if (wm_yield_error(c, m.id[0], "wamp.error.no_such_registration"))
            wm_send(c);
        return;
    case UNSUBSCRIBED:
    case UNREGISTERED:
    case INTERRUPT:
        return;
    default:
        report(c, WM_ERR_UNKNOWN, NULL, 0);
        return;
    }
broken:
    lost(c);
}

/* A whole frame at f (header included, len bytes of message after it). */
static void on_frame(wm_client *c, uint8_t *f, uint32_t len)
{
    c->ping_at = c->now + c->cfg.keepalive_ms;
    c->pings = 0;
    if (f[0] == FRAME_PING)
        frame_out(c, f, FRAME_PONG, len); /* in place: same payload */
    else if (f[0] == FRAME_MSG)
        on_message(c, f + HEADER, len);
}

/* {"roles": {"publisher": {}, "subscriber": {}, "caller": {}, "callee": {}}} */
static const uint8_t hello_details[] = {
    0x81, 0xa5, 'r', 'o', 'l', 'e', 's', 0x84,
    0xa9, 'p', 'u', 'b', 'l', 'i', 's', 'h', 'e', 'r', 0x80,
    0xaa, 's', 'u', 'b', 's', 'c', 'r', 'i', 'b', 'e', 'r', 0x80,
    0xa6, 'c', 'a', 'l', 'l', 'e', 'r', 0x80,
    0xa6, 'c', 'a', 'l', 'l', 'e', 'e', 0x80};

/* The router's handshake reply. */
static void on_reply(wm_client *c, uint8_t h)
{
    if ((h & 0x0f) != 2) {
        /* 7F E0 00 00: refused with error code E (or a serializer mixup). */
        report(c, WM_ERR_HANDSHAKE, NULL, h >> 4);
        end_session(c, WM_PAUSED, c->cfg.pause_ms);
        return;
    }
    c->out_max = (uint32_t)1 << (9 + (h >> 4));
    if (c->out_max > c->cfg.buf_size)
        c->out_max = (uint32_t)c->cfg.buf_size; /* it could not be built anyway */
    c->rx = c->cfg.cobs ? RX_COBS : RX_FRAME;
    rx_reset(c);
    c->next_request = 1;
    if (begin(c, HELLO, 3, HELLO)) {
        wm_writer *w = &c->w;
        wm_write_strz(w, c->cfg.realm);
        wm_write_raw(w, hello_details, sizeof hello_details);
        send_fixed(c);
    }
    c->deadline = c->now + c->cfg.timeout_ms;
    set_state(c, WM_JOINING);
}

static int is_reply(const uint8_t *h) { return h[0] == 0x7f && h[2] == 0 && h[3] == 0; }

static uint32_t frame_len(const uint8_t *f) { return (uint32_t)f[1] << 16 | (uint32_t)f[2] << 8 | f[3]; }

/* A frame header without reserved bits, for a length that was announced. */
static int frame_ok(const wm_client *c, const uint8_t *f) { return f[0] <= FRAME_PONG && frame_len(f) <= c->in_max; }

/* A whole COBS packet, CRC checked: n bytes of data at the buffer's start. */
static void on_packet(wm_client *c, uint32_t n)
{
    uint8_t *f = c->cfg.buf;
    if (c->state == WM_HANDSHAKE) {
        if (n == HEADER && is_reply(f))
            on_reply(c, f[1]);
        return; /* anything else is left over from before */
    }
    if (n == HEADER && is_reply(f)) {
        lost(c); /* a handshake reply where a frame belongs */
        return;
    }
    if (n < HEADER || !frame_ok(c, f) || frame_len(f) != n - HEADER) {
        lost(c);
        return;
    }
    on_frame(c, f, n - HEADER);
}

static void rx_put(wm_client *c, uint8_t b)
{
    if (c->rx_len < c->cfg.buf_size)
        c->cfg.buf[c->rx_len++] = b;
    else
        c->cobs_over = 1;
}

/* One byte of a COBS packet: decoded into the buffer as it comes. */
static void cobs_in(wm_client *c, uint8_t b)
{
    if (b == 0) {
        size_t n = c->rx_len;
        int whole = c->cobs_left == 0;
        int over = c->cobs_over;
        /* The packet stays in the buffer while it is handled, so that
         * answers are built behind it. */
        if (n == 0 && !over) {
            rx_reset(c);
            return; /* an empty packet: a resynchronisation mark */
        }
        if (over) {
            rx_reset(c);
            if (in_session(c))
                report(c, WM_ERR_TOO_BIG, NULL, 0);
        } else if (!whole || n < CRC + 1 || wm_crc16(c->cfg.buf, n) != 0) {
            rx_reset(c);
            if (in_session(c))
                report(c, WM_ERR_CRC, NULL, 0);
        } else {
            on_packet(c, (uint32_t)(n - CRC));
            if (c->rx == RX_COBS)
                rx_reset(c);
        }
        return;
    }
    if (c->cobs_left == 0) {
        /* A code byte: the block before it ended in an implied 00, unless
         * it was a full one (FF) or there was none. */
        if (c->cobs_code && c->cobs_code != 0xff)
            rx_put(c, 0);
        c->cobs_code = b;
        c->cobs_left = (uint8_t)(b - 1);
        return;
    }
    c->cobs_left--;
    rx_put(c, b);
}

void wm_feed(wm_client *c, const uint8_t *data, size_t len)
{
    c->tx = NULL; /* a message begun and not sent is dropped */
    c->w.err = 1;
    while (len) {
        uint8_t b = *data;
        switch (c->rx) {
        case RX_IGNORE:
            break;
        case RX_COBS:
            cobs_in(c, b);
            break;
        case RX_REPLY:
            /* The last four bytes, until they are 7F xx 00 00. */
            c->window = c->window << 8 | b;
            if ((c->window & 0xff00ffffu) == 0x7f000000u)
                on_reply(c, (uint8_t)(c->window >> 16));
            break;
        case RX_FRAME:
            if (c->rx_len < HEADER) {
                uint8_t *f = c->cfg.buf;
                uint32_t n;
                f[c->rx_len++] = b;
                if (c->rx_len < HEADER)
                    break;
                n = frame_len(f);
                if (!frame_ok(c, f)) {
                    /* Reserved bits, a handshake reply, or a length never
                     * announced: the line is out of step. */
                    lost(c);
                    break;
                }
                c->rx_need = HEADER + n;
                if (c->rx_need > c->cfg.buf_size) {
                    report(c, WM_ERR_TOO_BIG, NULL, 0);
                    c->rx = RX_SKIP;
                    c->rx_need = n;
                    c->rx_len = 0;
                    break;
                }
            } else {
                size_t take = c->rx_need - c->rx_len;
                if (take > len)
                    take = len;
                memcpy(c->cfg.buf + c->rx_len, data, take);
                c->rx_len += take;
                data += take - 1;
                len -= take - 1;
            }
            if (c->rx_len == c->rx_need) {
                on_frame(c, c->cfg.buf, (uint32_t)(c->rx_len - HEADER));
                if (c->rx == RX_FRAME)
                    c->rx_len = 0;
            }
            break;
        case RX_SKIP:
            if (--c->rx_need == 0)
                c->rx = RX_FRAME;
            break;
        }
        data++;
        len--;
    }
}

/* ---------------------------------------------------------------------
 * The public rest
 * ------------------------------------------------------------------ */

void wm_init(wm_client *c, const wm_config *cfg)
{
    uint8_t l = 0;
    memset(c, 0, sizeof *c);
    c->cfg = *cfg;
    if (!c->cfg.timeout_ms)
        c->cfg.timeout_ms = 1000;
    if (!c->cfg.keepalive_ms)
        c->cfg.keepalive_ms = 500;
    if (!c->cfg.pause_ms)
        c->cfg.pause_ms = 2100;
    /* Announce the largest 2^(9+L) that fits with the header and CRC;
     * a buffer smaller than 512 bytes still announces 512 and drops what
     * it cannot hold. */
    while (l < 15 && ((uint32_t)1 << (10 + l)) + HEADER + CRC <= c->cfg.buf_size)
        l++;
    c->in_nibble = l;
    c->in_max = (uint32_t)1 << (9 + l);
    c->w.err = 1;
    c->state = WM_OFF;
}

static void add_route(wm_route **list, wm_route *r, const char *uri, wm_handler fn, void *user)
{
    memset(r, 0, sizeof *r);
    r->uri = uri;
    r->fn = fn;
    r->user = user;
    while (*list)
        list = &(*list)->next;
    *list = r;
}

void wm_subscribe(wm_client *c, wm_subscription *s, const char *topic, wm_handler fn, void *user)
{
    add_route(&c->subs, s, topic, fn, user);
    if (in_session(c))
        send_route(c, s, SUBSCRIBE);
}

void wm_register(wm_client *c, wm_registration *r, const char *procedure, wm_handler fn, void *user)
{
    add_route(&c->regs, r, procedure, fn, user);
    if (in_session(c))
        send_route(c, r, REGISTER);
}

void wm_start(wm_client *c, uint32_t now)
{
    c->now = now;
    if (c->state != WM_OFF)
        end_session(c, WM_PAUSED, 0); /* a new line: whatever was, is over */
    send_handshake(c);
}

void wm_leave(wm_client *c)
{
    if (!in_session(c)) {
        end_session(c, WM_OFF, 0);
        return;
    }
    goodbye(c, "wamp.close.close_realm");
    c->deadline = c->now + c->cfg.timeout_ms;
    set_state(c, WM_LEAVING);
}

wm_state wm_get_state(const wm_client *c) { return (wm_state)c->state; }

uint64_t wm_session_id(const wm_client *c) { return c->session; }

/* An empty PING, built behind whatever is being received. */
static void ping(wm_client *c)
{
    uint8_t *f = c->cfg.buf + c->rx_len;
    if (f + HEADER + CRC <= c->cfg.buf + c->cfg.buf_size)
        frame_out(c, f, FRAME_PING, 0);
}

void wm_poll(wm_client *c, uint32_t now)
{
    uint8_t i;
    c->now = now;
    switch (c->state) {
    case WM_OFF:
        return;
    case WM_PAUSED:
        if (due(now, c->deadline))
            send_handshake(c);
        return;
    case WM_HANDSHAKE:
        /* Plain: the router may be in the middle of a frame that swallows
         * handshakes until it has heard 2 s of silence; pause first. */
        if (due(now, c->deadline)) {
            if (c->cfg.cobs)
                send_handshake(c);
            else
                end_session(c, WM_PAUSED, c->cfg.pause_ms);
        }
        return;
    case WM_JOINING:
        if (due(now, c->deadline))
            resync(c, WM_ERR_TIMEOUT, NULL, 0);
        return;
    case WM_LEAVING:
        if (due(now, c->deadline))
            end_session(c, WM_OFF, 0);
        return;
    default:
        break;
    }
    if (c->setup_left && due(now, c->deadline)) {
        resync(c, WM_ERR_TIMEOUT, NULL, 0);
        return;
    }
    /* Keepalive: a silent line gets a PING; with COBS one may be lost on
     * the line and a second one is tried, each in half the time. */
    if (due(now, c->ping_at)) {
        if (c->pings == 1 + c->cfg.cobs) {
            resync(c, WM_ERR_TIMEOUT, NULL, 0);
            return;
        }
        ping(c);
        c->pings++;
        c->ping_at = now + (c->cfg.timeout_ms >> c->cfg.cobs);
    }
    for (i = 0; i < WM_MAX_PENDING && in_session(c); i++)
        if (c->pending[i].request && due(now, c->pending[i].deadline))
            fail_pending(c, &c->pending[i], err_timeout);
}
