/* Unit tests of wampmcu: MessagePack round trips, the README's COBS and
 * CRC vectors, and the session fed canned router bytes, plain and COBS.
 * The library is included whole so that its COBS encoder can be checked
 * byte for byte. */
#include "../wampmcu.c"
#include "../wampmcu_pack.c"
#include "router.h"

#include <stdio.h>

static int failures;

#define CHECK(cond)                                                          \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #cond);      \
            failures++;                                                      \
        }                                                                    \
    } while (0)

/* ---------------------------------------------------------------------
 * MessagePack
 * ------------------------------------------------------------------ */

static uint8_t pack[1 << 20];

static wm_writer writer(void)
{
    wm_writer w;
    w.p = pack;
    w.end = pack + sizeof pack;
    w.err = 0;
    return w;
}

static wm_reader reader_of(const wm_writer *w)
{
    wm_reader r;
    r.p = pack;
    r.end = w->p;
    r.err = 0;
    return r;
}

static void test_ints(void)
{
    static const int64_t ints[] = {0, 1, 127, 128, 255, 256, 65535, 65536, 4294967295LL, 4294967296LL,
                                   INT64_MAX, -1, -32, -33, -128, -129, -32768, -32769,
                                   INT32_MIN, (int64_t)INT32_MIN - 1, INT64_MIN, 9007199254740993LL};
    static const size_t sizes[] = {1, 1, 1, 2, 2, 3, 3, 5, 5, 9, 9, 1, 1, 2, 2, 3, 3, 5, 5, 9, 9, 9};
    size_t i;
    for (i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        wm_writer w = writer();
        wm_reader r;
        wm_write_int(&w, ints[i]);
        CHECK(!w.err && (size_t)(w.p - pack) == sizes[i]);
        r = reader_of(&w);
        CHECK(wm_peek(&r) == WM_KIND_INT);
        CHECK(wm_read_int(&r) == ints[i] && !r.err && r.p == r.end);
        r = reader_of(&w);
        CHECK(wm_read_double(&r) == (double)ints[i]);
        r = reader_of(&w);
        wm_read_uint(&r);
        CHECK(r.err == (ints[i] < 0));
    }
    {
        wm_writer w = writer();
        wm_reader r;
        wm_write_uint(&w, UINT64_MAX);
        CHECK(w.p - pack == 9 && pack[0] == 0xcf);
        r = reader_of(&w);
        CHECK(wm_read_uint(&r) == UINT64_MAX && !r.err);
        r = reader_of(&w);
        wm_read_int(&r);
        CHECK(r.err); /* does not fit int64 */
    }
    {
        /* A signed encoding of a positive value reads as unsigned too. */
        static const uint8_t d0[] = {0xd0, 0x05}, d3[] = {0xd3, 0, 0, 0, 0, 0, 0, 1, 0};
        wm_reader r = {d0, d0 + 2, 0};
        CHECK(wm_read_uint(&r) == 5 && !r.err);
        r.p = d3;
        r.end = d3 + 9;
        CHECK(wm_read_uint(&r) == 256 && !r.err);
    }
}

static void test_kinds(void)
{
    static const uint8_t bin[3] = {0, 0xff, 0x7f};
    static char big[70000];
    static const size_t strs[] = {0, 31, 32, 255, 256, 65535, 65536};
    static const size_t strhdr[] = {1, 1, 2, 2, 3, 3, 5};
    static const uint32_t counts[] = {0, 15, 16, 65535, 65536};
    wm_writer w = writer();
    wm_reader r;
    size_t i, n;
    const char *s;
    const uint8_t *b;

    wm_write_array(&w, 9);
    wm_write_nil(&w);
    wm_write_bool(&w, 1);
    wm_write_bool(&w, 0);
    wm_write_float(&w, 1.5f);
    wm_write_double(&w, -0.1);
    wm_write_strz(&w, "h\xc3\xa9llo \xe2\x9c\x93"); /* unicode: bytes through */
    wm_write_bin(&w, bin, sizeof bin);
    wm_write_map(&w, 1);
    wm_write_strz(&w, "k");
    wm_write_array(&w, 0);
    wm_write_int(&w, -5);
    CHECK(!w.err);
    r = reader_of(&w);
    CHECK(wm_read_array(&r) == 9);
    CHECK(wm_peek(&r) == WM_KIND_NIL);
    wm_read_nil(&r);
    CHECK(wm_read_bool(&r) == 1 && wm_read_bool(&r) == 0);
    CHECK(wm_peek(&r) == WM_KIND_FLOAT && wm_read_double(&r) == 1.5);
    CHECK(wm_read_double(&r) == -0.1);
    CHECK(wm_read_str_is(&r, "h\xc3\xa9llo \xe2\x9c\x93"));
    b = wm_read_bin(&r, &n);
    CHECK(n == 3 && memcmp(b, bin, 3) == 0);
    CHECK(wm_read_map(&r) == 1);
    s = wm_read_str(&r, &n);
    CHECK(n == 1 && s[0] == 'k');
    CHECK(wm_read_array(&r) == 0);
    CHECK(wm_read_int(&r) == -5);
    CHECK(!r.err && r.p == r.end && wm_peek(&r) == WM_KIND_NONE);
    r = reader_of(&w);
    wm_skip(&r);
    CHECK(!r.err && r.p == r.end);

    memset(big, 'x', sizeof big);
    for (i = 0; i < sizeof strs / sizeof strs[0]; i++) {
        w = writer();
        wm_write_str(&w, big, strs[i]);
        CHECK(!w.err && (size_t)(w.p - pack) == strhdr[i] + strs[i]);
        r = reader_of(&w);
        s = wm_read_str(&r, &n);
        CHECK(s && n == strs[i] && !r.err && r.p == r.end);
        w = writer();
        wm_write_bin(&w, big, strs[i]);
        r = reader_of(&w);
        b = wm_read_bin(&r, &n);
        CHECK(b && n == strs[i] && r.p == r.end);
        r = reader_of(&w);
        wm_read_str(&r, &n);
        CHECK(r.err); /* bin is not str */
    }
    for (i = 0; i < sizeof counts / sizeof counts[0]; i++) {
        uint32_t k;
        w = writer();
        wm_write_array(&w, counts[i]);
        for (k = 0; k < counts[i]; k++)
            wm_write_nil(&w);
        wm_write_map(&w, counts[i]);
        for (k = 0; k < counts[i]; k++) {
            wm_write_uint(&w, k);
            wm_write_nil(&w);
        }
        CHECK(!w.err);
        r = reader_of(&w);
        CHECK(wm_read_array(&r) == counts[i]);
        r = reader_of(&w);
        wm_skip(&r);
        CHECK(wm_read_map(&r) == counts[i]);
        r = reader_of(&w);
        wm_skip(&r);
        wm_skip(&r);
        CHECK(!r.err && r.p == r.end);
    }
}

static void test_bad_input(void)
{
    /* Truncated: every prefix of a valid value fails to skip, never reads past. */
    wm_writer w = writer();
    wm_reader r;
    size_t cut, n;
    static const uint8_t c1[] = {0xc1}, ext[] = {0xd6, 1, 2, 3, 4, 5}, hugearr[] = {0xdd, 0xff, 0xff, 0xff, 0xff};
    wm_write_array(&w, 3);
    wm_write_strz(&w, "abc");
    wm_write_uint(&w, 1u << 20);
    wm_write_map(&w, 1);
    wm_write_double(&w, 2.0);
    wm_write_bin(&w, "zz", 2);
    for (cut = 0; cut < (size_t)(w.p - pack); cut++) {
        uint8_t *copy = (uint8_t *)malloc(cut ? cut : 1);
        memcpy(copy, pack, cut); /* ASan catches a read past the cut */
        r.p = copy;
        r.end = copy + cut;
        r.err = 0;
        wm_skip(&r);
        CHECK(r.err);
        free(copy);
    }
    /* Wrong kinds. */
    r = reader_of(&w);
    wm_read_map(&r);
    CHECK(r.err);
    CHECK(wm_read_array(&r) == 0); /* sticky */
    r = reader_of(&w);
    wm_read_array(&r);
    wm_read_int(&r);
    CHECK(r.err);
    r.p = c1;
    r.end = c1 + 1;
    r.err = 0;
    CHECK(wm_peek(&r) == WM_KIND_NONE);
    wm_skip(&r);
    CHECK(r.err);
    r.p = ext;
    r.end = ext + sizeof ext;
    r.err = 0;
    CHECK(wm_peek(&r) == WM_KIND_EXT);
    wm_skip(&r);
    CHECK(!r.err && r.p == r.end);
    r.p = hugearr; /* 4 billion elements claimed in 5 bytes */
    r.end = hugearr + sizeof hugearr;
    r.err = 0;
    wm_skip(&r);
    CHECK(r.err);
    /* A str claiming more than is there. */
    {
        static const uint8_t s[] = {0xda, 0x01, 0x00, 'a'};
        r.p = s;
        r.end = s + sizeof s;
        r.err = 0;
        CHECK(wm_read_str(&r, &n) == NULL && r.err && n == 0);
    }
    /* The writer stops at its end. */
    {
        uint8_t small[4];
        wm_writer sw = {small, small + sizeof small, 0};
        wm_write_strz(&sw, "abcd");
        CHECK(sw.err);
        sw.err = 0;
        sw.p = small;
        wm_write_uint(&sw, 1);
        wm_write_uint(&sw, 300);
        CHECK(!sw.err && sw.p == small + 4);
        wm_write_nil(&sw);
        CHECK(sw.err);
    }
}

/* ---------------------------------------------------------------------
 * CRC and COBS: the README's vectors
 * ------------------------------------------------------------------ */

static uint8_t cap[4096];
static size_t cap_len;
static void capture(void *io, const uint8_t *p, size_t n)
{
    (void)io;
    memcpy(cap + cap_len, p, n);
    cap_len += n;
}

static void test_cobs_vectors(void)
{
    static const uint8_t hs[] = {0x7f, 0xf2, 0, 0, 0x9f, 0x69}, hs_cobs[] = {3, 0x7f, 0xf2, 1, 3, 0x9f, 0x69, 0};
    static const uint8_t reply[] = {0x7f, 0xb2, 0, 0, 0x82, 0xc4}, reply_cobs[] = {3, 0x7f, 0xb2, 1, 3, 0x82, 0xc4, 0};
    static const uint8_t hello[] = {0x00, 0x00, 0x00, 0x28, 0x93, 0x01, 0xa6, 0x72, 0x65, 0x61, 0x6c, 0x6d,
                                    0x31, 0x81, 0xa5, 0x72, 0x6f, 0x6c, 0x65, 0x73, 0x82, 0xaa, 0x73, 0x75,
                                    0x62, 0x73, 0x63, 0x72, 0x69, 0x62, 0x65, 0x72, 0x80, 0xa9, 0x70, 0x75,
                                    0x62, 0x6c, 0x69, 0x73, 0x68, 0x65, 0x72, 0x80};
    static const uint8_t hello_cobs[] = {0x01, 0x01, 0x01, 0x2c, 0x28, 0x93, 0x01, 0xa6, 0x72, 0x65, 0x61, 0x6c,
                                         0x6d, 0x31, 0x81, 0xa5, 0x72, 0x6f, 0x6c, 0x65, 0x73, 0x82, 0xaa, 0x73,
                                         0x75, 0x62, 0x73, 0x63, 0x72, 0x69, 0x62, 0x65, 0x72, 0x80, 0xa9, 0x70,
                                         0x75, 0x62, 0x6c, 0x69, 0x73, 0x68, 0x65, 0x72, 0x80, 0x4a, 0x2d, 0x00};
    uint8_t tmp[sizeof hello + 2];
    uint16_t crc;
    wm_client c;
    memset(&c, 0, sizeof c);
    c.cfg.write = capture;

    CHECK(wm_crc16((const uint8_t *)"123456789", 9) == 0x29b1);
    CHECK(wm_crc16(hs, 4) == 0x9f69 && wm_crc16(hs, 6) == 0);
    CHECK(wm_crc16(reply, 4) == 0x82c4);

    cap_len = 0;
    cobs_out(&c, hs, sizeof hs);
    CHECK(cap_len == sizeof hs_cobs && memcmp(cap, hs_cobs, cap_len) == 0);
    cap_len = 0;
    cobs_out(&c, reply, sizeof reply);
    CHECK(cap_len == sizeof reply_cobs && memcmp(cap, reply_cobs, cap_len) == 0);
    memcpy(tmp, hello, sizeof hello);
    crc = wm_crc16(hello, sizeof hello);
    tmp[sizeof hello] = (uint8_t)(crc >> 8);
    tmp[sizeof hello + 1] = (uint8_t)crc;
    cap_len = 0;
    cobs_out(&c, tmp, sizeof tmp);
    CHECK(cap_len == sizeof hello_cobs && memcmp(cap, hello_cobs, cap_len) == 0);

    /* Runs at the 254-byte boundary, with and without zeros around them:
     * the library's encoder against the test's decoder. */
    {
        static const size_t lens[] = {0, 1, 253, 254, 255, 508, 509, 1000};
        size_t i, k;
        for (i = 0; i < sizeof lens / sizeof lens[0]; i++) {
            for (k = 0; k < 3; k++) {
                static uint8_t data[1100], back[1100];
                size_t j;
                long n;
                for (j = 0; j < lens[i]; j++)
                    data[j] = (uint8_t)(k == 0 ? 1 + j % 255 : k == 1 ? (j % 7 == 3 ? 0 : 9) : 0);
                cap_len = 0;
                cobs_out(&c, data, lens[i]);
                CHECK(cap[cap_len - 1] == 0 && memchr(cap, 0, cap_len) == cap + cap_len - 1);
                n = cobs_decode(cap, cap_len - 1, back);
                CHECK(n == (long)lens[i] && memcmp(back, data, lens[i]) == 0);
            }
        }
    }
}

/* ---------------------------------------------------------------------
 * The session, fed canned router bytes
 * ------------------------------------------------------------------ */

static router rt;
static uint8_t buf[4096];
static wm_client cl;
static wm_subscription sub_led;
static wm_registration reg_add, reg_echo;
static int errors[16], states[16];
static int events, leds;
static uint32_t now;

static void on_state(wm_client *c, void *user, wm_state s)
{
    (void)c;
    (void)user;
    states[s]++;
}

static void on_error(wm_client *c, void *user, wm_error e, const char *text, size_t len)
{
    (void)c;
    (void)user;
    (void)text;
    (void)len;
    errors[e]++;
}

static void on_led(wm_client *c, void *user, wm_payload *p)
{
    int64_t n;
    wm_writer *w;
    (void)user;
    events++;
    CHECK(wm_read_array(&p->args) == 1);
    n = wm_read_int(&p->args);
    CHECK(!p->args.err);
    leds++;
    w = wm_publish(c, "mcu.button", NULL, NULL);
    CHECK(w != NULL);
    if (w) {
        wm_write_array(w, 2);
        wm_write_int(w, n);
        wm_write_int(w, leds);
        CHECK(wm_send(c) == WM_OK);
    }
}

static void on_add(wm_client *c, void *user, wm_payload *p)
{
    int64_t a, b;
    wm_writer *w;
    (void)user;
    if (wm_read_array(&p->args) != 2) {
        w = wm_yield_error(c, p->request, "wamp.error.invalid_argument");
    } else {
        a = wm_read_int(&p->args);
        b = wm_read_int(&p->args);
        w = wm_yield(c, p->request);
        if (w) {
            wm_write_array(w, 1);
            wm_write_int(w, a + b);
        }
    }
    if (w)
        CHECK(wm_send(c) == WM_OK);
}

static void on_echo(wm_client *c, void *user, wm_payload *p)
{
    wm_writer *w = wm_yield(c, p->request);
    (void)user;
    if (w) {
        wm_write_raw(w, p->args.p, (size_t)(p->args.end - p->args.p));
        CHECK(wm_send(c) == WM_OK);
    }
}

static int results;
static int64_t result_value;
static char result_error[64];
static void on_result(wm_client *c, void *user, wm_payload *p)
{
    (void)c;
    (void)user;
    results++;
    result_error[0] = 0;
    result_value = -1;
    if (p->error) {
        memcpy(result_error, p->error, p->error_len < 63 ? p->error_len : 63);
        result_error[p->error_len < 63 ? p->error_len : 63] = 0;
    } else if (wm_read_array(&p->args) >= 1) {
        result_value = wm_read_int(&p->args);
    }
}

static void setup(int cobs, size_t size)
{
    wm_config cfg;
    memset(&rt, 0, sizeof rt);
    rt.cobs = cobs;
    memset(errors, 0, sizeof errors);
    memset(states, 0, sizeof states);
    events = leds = results = 0;
    memset(&cfg, 0, sizeof cfg);
    cfg.buf = buf;
    cfg.buf_size = size;
    cfg.write = router_write;
    cfg.io = &rt;
    cfg.realm = "realm1";
    cfg.cobs = (uint8_t)cobs;
    cfg.on_state = on_state;
    cfg.on_error = on_error;
    wm_init(&cl, &cfg);
    wm_subscribe(&cl, &sub_led, "mcu.led", on_led, NULL);
    wm_register(&cl, &reg_add, "mcu.add", on_add, NULL);
    wm_register(&cl, &reg_echo, "mcu.echo", on_echo, NULL);
    now = 1000;
    wm_start(&cl, now);
}

static void poll_for(uint32_t ms)
{
    uint32_t end = now + ms;
    while (now != end) {
        now += 10;
        wm_poll(&cl, now);
    }
}

/* The next frame the client wrote must be message type t; its reader is
 * left after the type. */
static wm_reader expect(uint64_t t)
{
    wm_reader r = {NULL, NULL, 1};
    if (router_take(&rt) != 1 || rt.frame[0] != 0) {
        CHECK(!"a message frame");
        return r;
    }
    r = router_msg(&rt);
    wm_read_array(&r);
    CHECK(wm_read_uint(&r) == t && !r.err);
    return r;
}

/* Answers the handshake and joins: WELCOME, then SUBSCRIBED/REGISTERED
 * for what the client asks. */
static void join(uint8_t nibble)
{
    uint8_t reply[4] = {0x7f, 0, 0, 0};
    wm_writer w;
    wm_reader r;
    uint64_t req;
    int i;
    size_t n;
    const char *realm;

    CHECK(router_take(&rt) == 1 && rt.frame_len == 4 && rt.frame[0] == 0x7f && (rt.frame[1] & 0xf) == 2);
    reply[1] = (uint8_t)(nibble << 4 | 2);
    router_put(&rt, reply, 4);
    router_flush(&rt, &cl);
    CHECK(cl.state == WM_JOINING);
    r = expect(1);
    realm = wm_read_str(&r, &n);
    CHECK(n == 6 && memcmp(realm, "realm1", 6) == 0);
    CHECK(wm_read_map(&r) == 1 && wm_read_str_is(&r, "roles") && wm_read_map(&r) == 4);

    w = msg_begin();
    wm_write_array(&w, 3);
    wm_write_uint(&w, 2);
    wm_write_uint(&w, 77);
    wm_write_map(&w, 0);
    router_send(&rt, &w);
    router_flush(&rt, &cl);
    CHECK(cl.state == WM_SETUP && wm_session_id(&cl) == 77);
    for (i = 0; i < 3; i++) {
        uint64_t t;
        r = router_msg(&rt);
        if (router_take(&rt) != 1) {
            CHECK(!"SUBSCRIBE or REGISTER");
            return;
        }
        r = router_msg(&rt);
        wm_read_array(&r);
        t = wm_read_uint(&r);
        CHECK(t == (i == 0 ? 32u : 64u));
        req = wm_read_uint(&r);
        wm_skip(&r);
        CHECK(wm_read_str_is(&r, i == 0 ? "mcu.led" : i == 1 ? "mcu.add" : "mcu.echo"));
        w = msg_begin();
        wm_write_array(&w, 3);
        wm_write_uint(&w, t + 1);
        wm_write_uint(&w, req);
        wm_write_uint(&w, 1000 + (uint64_t)i);
        router_send(&rt, &w);
    }
    router_flush(&rt, &cl);
    CHECK(cl.state == WM_READY);
}

static void send_event(uint64_t sub, int64_t n)
{
    wm_writer w = msg_begin();
    wm_write_array(&w, 5);
    wm_write_uint(&w, 36);
    wm_write_uint(&w, sub);
    wm_write_uint(&w, 5555);
    wm_write_map(&w, 0);
    wm_write_array(&w, 1);
    wm_write_int(&w, n);
    router_send(&rt, &w);
}

static void check_button(int64_t n, int64_t count)
{
    wm_reader r = expect(16);
    wm_read_uint(&r);
    CHECK(wm_read_map(&r) == 0);
    CHECK(wm_read_str_is(&r, "mcu.button"));
    CHECK(wm_read_array(&r) == 2 && wm_read_int(&r) == n && wm_read_int(&r) == count && !r.err);
}

static void send_invocation(uint64_t req, uint64_t reg, const uint8_t *args, size_t n)
{
    wm_writer w = msg_begin();
    wm_write_array(&w, 5);
    wm_write_uint(&w, 68);
    wm_write_uint(&w, req);
    wm_write_uint(&w, reg);
    wm_write_map(&w, 0);
    wm_write_raw(&w, args, n);
    router_send(&rt, &w);
}

static void test_session(int cobs)
{
    wm_writer w, *cw;
    wm_reader r;
    uint64_t req;
    size_t i;

    setup(cobs, sizeof buf);
    CHECK(cl.in_max == 2048 && cl.in_nibble == 2);
    join(11);
    CHECK(cl.out_max == sizeof buf); /* 1 MiB, but no more than it can build */

    /* Events, and publishing from the handler. */
    send_event(1000, 7);
    send_event(1000, 8);
    send_event(999, 9); /* not ours */
    router_flush(&rt, &cl);
    CHECK(events == 2);
    check_button(7, 1);
    check_button(8, 2);

    /* Calls to mcu.add and mcu.echo. */
    {
        uint8_t args[32];
        wm_writer a = {args, args + sizeof args, 0};
        wm_write_array(&a, 2);
        wm_write_int(&a, 40);
        wm_write_int(&a, 2);
        send_invocation(9, 1001, args, (size_t)(a.p - args));
        router_flush(&rt, &cl);
        r = expect(70);
        CHECK(wm_read_uint(&r) == 9);
        wm_skip(&r);
        CHECK(wm_read_array(&r) == 1 && wm_read_int(&r) == 42);
    }
    {
        /* An echo close to the announced maximum, every kind. */
        static uint8_t args[2048], big[1900];
        wm_writer a = {args, args + sizeof args, 0};
        memset(big, 0xab, sizeof big);
        wm_write_array(&a, 8);
        wm_write_nil(&a);
        wm_write_bool(&a, 1);
        wm_write_int(&a, INT64_MIN);
        wm_write_uint(&a, UINT64_MAX);
        wm_write_float(&a, 0.25f);
        wm_write_double(&a, 1e300);
        wm_write_strz(&a, "\xe2\x82\xac");
        wm_write_bin(&a, big, sizeof big);
        send_invocation(10, 1002, args, (size_t)(a.p - args));
        router_flush(&rt, &cl);
        r = expect(70);
        CHECK(wm_read_uint(&r) == 10);
        wm_skip(&r);
        CHECK((size_t)(r.end - r.p) == (size_t)(a.p - args) && memcmp(r.p, args, (size_t)(a.p - args)) == 0);
    }
    /* An invocation for a registration it does not have. */
    send_invocation(11, 4242, (const uint8_t *)"\x90", 1);
    router_flush(&rt, &cl);
    r = expect(8);
    CHECK(wm_read_uint(&r) == 68 && wm_read_uint(&r) == 11);
    wm_skip(&r);
    CHECK(wm_read_str_is(&r, "wamp.error.no_such_registration"));

    /* A call, its result; a call, its error; a call that times out. */
    cw = wm_call(&cl, "mcu.clock", on_result, NULL, 300);
    CHECK(cw != NULL);
    CHECK(wm_send(&cl) == WM_OK);
    r = expect(48);
    req = wm_read_uint(&r);
    wm_skip(&r);
    CHECK(wm_read_str_is(&r, "mcu.clock") && r.p == r.end);
    w = msg_begin();
    wm_write_array(&w, 4);
    wm_write_uint(&w, 50);
    wm_write_uint(&w, req);
    wm_write_map(&w, 0);
    wm_write_array(&w, 1);
    wm_write_int(&w, 123456);
    router_send(&rt, &w);
    router_flush(&rt, &cl);
    CHECK(results == 1 && result_value == 123456);

    cw = wm_call(&cl, "mcu.clock", on_result, NULL, 300);
    wm_write_array(cw, 0);
    wm_write_map(cw, 1);
    wm_write_strz(cw, "k");
    wm_write_nil(cw);
    CHECK(wm_send(&cl) == WM_OK);
    r = expect(48);
    req = wm_read_uint(&r);
    w = msg_begin();
    wm_write_array(&w, 5);
    wm_write_uint(&w, 8);
    wm_write_uint(&w, 48);
    wm_write_uint(&w, req);
    wm_write_map(&w, 0);
    wm_write_strz(&w, "wamp.error.no_such_procedure");
    router_send(&rt, &w);
    router_flush(&rt, &cl);
    CHECK(results == 2 && strcmp(result_error, "wamp.error.no_such_procedure") == 0);

    cw = wm_call(&cl, "mcu.clock", on_result, NULL, 200);
    CHECK(wm_send(&cl) == WM_OK);
    expect(48);
    poll_for(250);
    CHECK(results == 3 && strcmp(result_error, "wampmcu.error.timeout") == 0);
    CHECK(cl.state == WM_READY); /* a slow callee does not end the session */
    while (router_take(&rt) == 1)
        ; /* keepalive PINGs */

    /* Bad arguments are refused before they reach the line. */
    cw = wm_publish(&cl, "t", NULL, NULL);
    wm_write_int(cw, 1);
    CHECK(wm_send(&cl) == WM_E_ARGS);
    CHECK(wm_send(&cl) == WM_E_STATE);
    cw = wm_publish(&cl, "t", NULL, NULL);
    wm_write_array(cw, 5000);
    for (i = 0; i < 5000; i++)
        wm_write_nil(cw);
    CHECK(wm_send(&cl) == WM_E_ROOM);
    CHECK(router_take(&rt) == 0);

    /* Publish with acknowledgement. */
    cw = wm_publish(&cl, "mcu.x", on_result, NULL);
    CHECK(wm_send(&cl) == WM_OK);
    r = expect(16);
    req = wm_read_uint(&r);
    CHECK(wm_read_map(&r) == 1 && wm_read_str_is(&r, "acknowledge") && wm_read_bool(&r));
    w = msg_begin();
    wm_write_array(&w, 3);
    wm_write_uint(&w, 17);
    wm_write_uint(&w, req);
    wm_write_uint(&w, 31337);
    router_send(&rt, &w);
    router_flush(&rt, &cl);
    CHECK(results == 4 && result_error[0] == 0);

    /* Only WM_MAX_PENDING replies at a time. */
    for (i = 0; i < WM_MAX_PENDING; i++) {
        CHECK(wm_call(&cl, "p", on_result, NULL, 5000) != NULL);
        CHECK(wm_send(&cl) == WM_OK);
    }
    CHECK(wm_call(&cl, "p", on_result, NULL, 5000) == NULL);

    /* PING is answered with a PONG carrying the same payload. */
    while (router_take(&rt) == 1)
        ;
    {
        uint8_t ping[7] = {1, 0, 0, 3, 'a', 0, 'c'};
        router_put(&rt, ping, sizeof ping);
        router_flush(&rt, &cl);
        CHECK(router_take(&rt) == 1 && rt.frame_len == 7 && rt.frame[0] == 2 && memcmp(rt.frame + 1, ping + 1, 6) == 0);
    }
    /* An unknown message type is reported and ignored. */
    w = msg_begin();
    wm_write_array(&w, 2);
    wm_write_uint(&w, 99);
    wm_write_nil(&w);
    router_send(&rt, &w);
    router_flush(&rt, &cl);
    CHECK(errors[WM_ERR_UNKNOWN] == 1 && cl.state == WM_READY);

    /* The session ends (an ABORT): the calls waiting fail, and after the
     * pause a new session sets everything up again. */
    w = msg_begin();
    wm_write_array(&w, 3);
    wm_write_uint(&w, 3);
    wm_write_map(&w, 0);
    wm_write_strz(&w, "wamp.error.system_shutdown");
    router_send(&rt, &w);
    results = 0;
    router_flush(&rt, &cl);
    CHECK(cl.state == WM_PAUSED && errors[WM_ERR_ABORT] == 1);
    CHECK(results == WM_MAX_PENDING && strcmp(result_error, "wampmcu.error.session_lost") == 0);
    poll_for(2000);
    CHECK(cl.state == WM_PAUSED);
    while (router_take(&rt) == 1)
        ;
    poll_for(200);
    CHECK(cl.state == WM_HANDSHAKE);
    join(11);
    send_event(1000, 1);
    router_flush(&rt, &cl);
    check_button(1, 3); /* the count is the application's */
}

/* Line trouble: each is a clean resync, or an error and the session goes on. */
static void test_trouble(int cobs)
{
    uint8_t junk[64];
    size_t i;

    /* A handshake reply where a frame header belongs (issue 22). */
    setup(cobs, sizeof buf);
    join(11);
    {
        static const uint8_t reply[4] = {0x7f, 0xb2, 0, 0};
        router_put(&rt, reply, 4);
        router_flush(&rt, &cl);
        CHECK(cl.state == WM_PAUSED && errors[WM_ERR_PROTOCOL] == 1);
    }

    /* Garbage between frames: plain resyncs, COBS drops one packet. */
    setup(cobs, sizeof buf);
    join(11);
    for (i = 0; i < sizeof junk; i++)
        junk[i] = (uint8_t)(i * 37 + 5);
    memcpy(rt.out, junk, sizeof junk);
    rt.out_len = sizeof junk;
    if (cobs)
        rt.out[rt.out_len++] = 0;
    send_event(1000, 5);
    router_flush(&rt, &cl);
    if (cobs) {
        CHECK(cl.state == WM_READY && errors[WM_ERR_CRC] == 1 && events == 1);
    } else {
        CHECK(cl.state == WM_PAUSED && errors[WM_ERR_PROTOCOL] == 1);
    }

    /* A frame longer than what was announced. */
    setup(cobs, sizeof buf);
    join(11);
    {
        static uint8_t big[3000];
        memset(big, 0x90, sizeof big);
        router_put_msg(&rt, 0, big, sizeof big);
        router_flush(&rt, &cl);
        CHECK(cl.state == WM_PAUSED && errors[WM_ERR_PROTOCOL] == 1);
    }

    /* A frame within what a small buffer announced (512) but larger than
     * the buffer: dropped alone. */
    setup(cobs, 300);
    CHECK(cl.in_max == 512 && cl.in_nibble == 0);
    join(11);
    {
        static uint8_t args[400];
        wm_writer w = msg_begin();
        memset(args, 'a', sizeof args);
        wm_write_array(&w, 5);
        wm_write_uint(&w, 36);
        wm_write_uint(&w, 1000);
        wm_write_uint(&w, 1);
        wm_write_map(&w, 0);
        wm_write_array(&w, 1);
        wm_write_str(&w, (const char *)args, sizeof args);
        router_send(&rt, &w);
        send_event(1000, 6);
        router_flush(&rt, &cl);
        CHECK(cl.state == WM_READY && errors[WM_ERR_TOO_BIG] == 1 && events == 1);
        check_button(6, 1);
    }

    /* A message that does not decode (a valid frame around bad MessagePack). */
    setup(cobs, sizeof buf);
    join(11);
    router_put_msg(&rt, 0, (const uint8_t *)"\x95\x24\x01", 3);
    router_flush(&rt, &cl);
    CHECK(cl.state == WM_PAUSED && errors[WM_ERR_PROTOCOL] == 1);
    /* A message of the wrong shape: EVENT whose args are a map. */
    setup(cobs, sizeof buf);
    join(11);
    {
        wm_writer w = msg_begin();
        wm_write_array(&w, 5);
        wm_write_uint(&w, 36);
        wm_write_uint(&w, 1000);
        wm_write_uint(&w, 1);
        wm_write_map(&w, 0);
        wm_write_map(&w, 0);
        router_send(&rt, &w);
        router_flush(&rt, &cl);
        CHECK(cl.state == WM_PAUSED && events == 0);
    }

    /* The router refuses the handshake (7F 20 00 00: length unacceptable). */
    setup(cobs, sizeof buf);
    {
        static const uint8_t refuse[4] = {0x7f, 0x20, 0, 0};
        CHECK(router_take(&rt) == 1);
        router_put(&rt, refuse, 4);
        router_flush(&rt, &cl);
        CHECK(cl.state == WM_PAUSED && errors[WM_ERR_HANDSHAKE] == 1);
    }

    /* No handshake reply: plain pauses for the router's 2 s of silence
     * first, COBS asks again at once. */
    setup(cobs, sizeof buf);
    CHECK(router_take(&rt) == 1);
    poll_for(1000);
    CHECK(cl.state == (cobs ? WM_HANDSHAKE : WM_PAUSED));
    CHECK(router_take(&rt) == (cobs ? 1 : 0));
    poll_for(2200);
    CHECK(router_take(&rt) == 1);

    /* No WELCOME. */
    setup(cobs, sizeof buf);
    CHECK(router_take(&rt) == 1);
    {
        static const uint8_t reply[4] = {0x7f, 0xb2, 0, 0};
        router_put(&rt, reply, 4);
        router_flush(&rt, &cl);
    }
    poll_for(1000);
    CHECK(cl.state == WM_PAUSED && errors[WM_ERR_TIMEOUT] == 1);

    /* Silence in a session: PING after keepalive_ms, resync when no answer. */
    setup(cobs, sizeof buf);
    join(11);
    poll_for(500);
    CHECK(router_take(&rt) == 1 && rt.frame[0] == 1 && rt.frame_len == 4);
    {
        static const uint8_t pong[4] = {2, 0, 0, 0};
        router_put(&rt, pong, 4);
        router_flush(&rt, &cl);
    }
    poll_for(1000);
    CHECK(cl.state == WM_READY);
    poll_for(2000);
    CHECK(cl.state == WM_PAUSED && errors[WM_ERR_TIMEOUT] == 1);

    /* GOODBYE from the router: answered, then a new handshake. */
    setup(cobs, sizeof buf);
    join(11);
    {
        wm_writer w = msg_begin();
        wm_reader r;
        wm_write_array(&w, 3);
        wm_write_uint(&w, 6);
        wm_write_map(&w, 0);
        wm_write_strz(&w, "wamp.close.system_shutdown");
        router_send(&rt, &w);
        router_flush(&rt, &cl);
        r = expect(6);
        wm_skip(&r);
        CHECK(wm_read_str_is(&r, "wamp.close.goodbye_and_out"));
        poll_for(10);
        CHECK(cl.state == WM_HANDSHAKE);
    }

    /* Leaving. */
    setup(cobs, sizeof buf);
    join(11);
    wm_leave(&cl);
    CHECK(cl.state == WM_LEAVING);
    expect(6);
    {
        wm_writer w = msg_begin();
        wm_write_array(&w, 3);
        wm_write_uint(&w, 6);
        wm_write_map(&w, 0);
        wm_write_strz(&w, "wamp.close.goodbye_and_out");
        router_send(&rt, &w);
        router_flush(&rt, &cl);
        CHECK(cl.state == WM_OFF);
        poll_for(5000);
        CHECK(router_take(&rt) == 0);
    }

    /* A SUBSCRIBE refused is reported; the rest is set up. */
    setup(cobs, sizeof buf);
    {
        static const uint8_t reply[4] = {0x7f, 0xb2, 0, 0};
        wm_writer w;
        wm_reader r;
        int k;
        router_take(&rt);
        router_put(&rt, reply, 4);
        router_flush(&rt, &cl);
        expect(1);
        w = msg_begin();
        wm_write_array(&w, 3);
        wm_write_uint(&w, 2);
        wm_write_uint(&w, 1);
        wm_write_map(&w, 0);
        router_send(&rt, &w);
        router_flush(&rt, &cl);
        for (k = 0; k < 3; k++) {
            uint64_t t, req;
            router_take(&rt);
            r = router_msg(&rt);
            wm_read_array(&r);
            t = wm_read_uint(&r);
            req = wm_read_uint(&r);
            w = msg_begin();
            if (k == 1) {
                wm_write_array(&w, 5);
                wm_write_uint(&w, 8);
                wm_write_uint(&w, t);
                wm_write_uint(&w, req);
                wm_write_map(&w, 0);
                wm_write_strz(&w, "wamp.error.procedure_already_exists");
            } else {
                wm_write_array(&w, 3);
                wm_write_uint(&w, t + 1);
                wm_write_uint(&w, req);
                wm_write_uint(&w, 5);
            }
            router_send(&rt, &w);
        }
        router_flush(&rt, &cl);
        CHECK(cl.state == WM_READY && errors[WM_ERR_REFUSED] == 1);
    }
}

/* The same bytes fed one at a time give the same result. */
static void test_split(int cobs)
{
    size_t i, n;
    setup(cobs, sizeof buf);
    join(11);
    send_event(1000, 3);
    send_event(1000, 4);
    n = rt.out_len;
    rt.out_len = 0;
    for (i = 0; i < n; i++)
        wm_feed(&cl, rt.out + i, 1);
    CHECK(events == 2);
    check_button(3, 1);
    check_button(4, 2);
}

int main(void)
{
    int cobs;
    test_ints();
    test_kinds();
    test_bad_input();
    test_cobs_vectors();
    for (cobs = 0; cobs < 2; cobs++) {
        test_session(cobs);
        test_trouble(cobs);
        test_split(cobs);
    }
    printf("wampmcu unit tests: %s (state struct %u bytes)\n", failures ? "FAIL" : "ok", (unsigned)sizeof(wm_client));
    return failures != 0;
}
