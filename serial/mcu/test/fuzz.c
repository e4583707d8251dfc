/* libFuzzer target: random and mutated router bytes into a client, plain
 * or COBS, in a fresh state or already in a session, with its buffer
 * allocated to the byte so that AddressSanitizer sees any overrun.
 *
 * Input: byte 0 picks framing, buffer size and whether to join first;
 * then chunks: a length byte L and L bytes fed at once, or L = 0xff and
 * one byte of clock to advance (in 16 ms steps) with wm_poll. In between
 * the handlers publish and answer, so building messages behind a received
 * one is exercised too. The MessagePack reader walks the input as well. */
#include "../wampmcu.h"
#include "router.h"

static router rt;
static wm_client cl;
static wm_subscription sub;
static wm_registration reg;
static uint32_t now;

static void on_event(wm_client *c, void *user, wm_payload *p)
{
    wm_writer *w;
    (void)user;
    wm_read_array(&p->args);
    wm_read_int(&p->args);
    wm_skip(&p->args);
    wm_read_map(&p->kwargs);
    w = wm_publish(c, "fuzz.out", NULL, NULL);
    if (w) {
        wm_write_raw(w, p->args.p, 0);
        wm_write_array(w, 1);
        wm_write_str(w, "x", 1);
        wm_send(c);
    }
}

static void on_invocation(wm_client *c, void *user, wm_payload *p)
{
    wm_payload copy = *p;
    (void)user;
    wm_skip(&copy.args);
    if (copy.args.err) {
        if (wm_yield_error(c, p->request, "fuzz.error"))
            wm_send(c);
    } else if (wm_yield(c, p->request)) {
        wm_write_raw(&c->w, p->args.p, (size_t)(p->args.end - p->args.p));
        wm_send(c);
    }
}

static void on_result(wm_client *c, void *user, wm_payload *p)
{
    (void)user;
    wm_skip(&p->args);
    if (wm_call(c, "fuzz.again", NULL, NULL, 50))
        wm_send(c);
}

static void walk(const uint8_t *data, size_t size)
{
    wm_reader r;
    size_t n;
    r.p = data;
    r.end = data + size;
    r.err = 0;
    while (!r.err && r.p < r.end) {
        wm_reader probe = r;
        switch (wm_peek(&probe)) {
        case WM_KIND_STR: wm_read_str(&probe, &n); break;
        case WM_KIND_BIN: wm_read_bin(&probe, &n); break;
        case WM_KIND_FLOAT: wm_read_double(&probe); break;
        case WM_KIND_INT: wm_read_int(&probe); break;
        case WM_KIND_ARRAY: wm_read_array(&probe); break;
        case WM_KIND_MAP: wm_read_map(&probe); break;
        default: break;
        }
        wm_skip(&r);
    }
}

/* Takes the client to WM_READY with the canned router. */
static void join(void)
{
    static const uint8_t reply[4] = {0x7f, 0x92, 0, 0};
    wm_writer w;
    int k;
    router_take(&rt);
    router_put(&rt, reply, 4);
    router_flush(&rt, &cl);
    router_take(&rt);
    w = msg_begin();
    wm_write_array(&w, 3);
    wm_write_uint(&w, 2);
    wm_write_uint(&w, 9);
    wm_write_map(&w, 0);
    router_send(&rt, &w);
    router_flush(&rt, &cl);
    for (k = 0; k < 2 && router_take(&rt) == 1; k++) {
        wm_reader r = router_msg(&rt);
        uint64_t t, req;
        wm_read_array(&r);
        t = wm_read_uint(&r);
        req = wm_read_uint(&r);
        w = msg_begin();
        wm_write_array(&w, 3);
        wm_write_uint(&w, t + 1);
        wm_write_uint(&w, req);
        wm_write_uint(&w, 1);
        router_send(&rt, &w);
    }
    router_flush(&rt, &cl);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t sizes[4] = {64, 300, 700, 4096};
    wm_config cfg;
    uint8_t *buf;
    uint8_t mode;
    size_t i = 1;

    walk(data, size);
    if (size < 1)
        return 0;
    mode = data[0];
    memset(&cfg, 0, sizeof cfg);
    cfg.buf_size = sizes[(mode >> 2) & 3];
    buf = (uint8_t *)malloc(cfg.buf_size);
    cfg.buf = buf;
    cfg.write = router_write;
    cfg.io = &rt;
    cfg.realm = "realm1";
    cfg.cobs = mode & 1;
    rt.cobs = mode & 1;
    rt.line_len = rt.out_len = 0;
    wm_init(&cl, &cfg);
    wm_subscribe(&cl, &sub, "fuzz.in", on_event, NULL);
    wm_register(&cl, &reg, "fuzz.proc", on_invocation, NULL);
    now = 5;
    wm_start(&cl, now);
    if (mode & 2)
        join();
    if (mode & 16) {
        if (wm_call(&cl, "fuzz.call", on_result, NULL, 100))
            wm_send(&cl);
        if (wm_publish(&cl, "fuzz.ack", on_result, NULL))
            wm_send(&cl);
    }
    while (i < size) {
        uint8_t n = data[i++];
        if (n == 0xff) {
            now += 16u * (i < size ? data[i++] : 1);
            wm_poll(&cl, now);
        } else {
            if (n > size - i)
                n = (uint8_t)(size - i);
            wm_feed(&cl, data + i, n);
            i += n;
        }
        rt.line_len = 0; /* what the client writes is not looked at */
    }
    now += 10000;
    wm_poll(&cl, now);
    free(buf);
    return 0;
}
