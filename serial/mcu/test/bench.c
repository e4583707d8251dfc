/* mcu-bench: what wampmcu costs on the line and on the CPU.
 *
 * Bytes on the line per event and per call round trip, plain and COBS,
 * with IDs as wampedge gives them (small sequential subscription,
 * registration and request IDs, random 53-bit publication IDs); from them
 * the events/s and calls/s a UART carries at 115200 baud and 1 Mbaud (8N1:
 * 10 bits a byte; full duplex, so each direction is counted on its own
 * and a stream of calls is bound by the busier one). Then the library's
 * own CPU time per message on this host. */
#define _POSIX_C_SOURCE 199309L /* clock_gettime */

#include "router.h"

#include <stdio.h>
#include <time.h>

static router rt;
static uint8_t buf[4096];
static wm_client cl;
static wm_subscription sub;
static wm_registration reg;
static const uint64_t publication = (1ull << 52) + 12345;
static volatile int64_t sink;

static void null_write(void *io, const uint8_t *data, size_t len)
{
    (void)io;
    (void)data;
    sink += (int64_t)len;
}

static void on_event(wm_client *c, void *user, wm_payload *p)
{
    (void)c;
    (void)user;
    wm_read_array(&p->args);
    sink += wm_read_int(&p->args);
}

static void on_invocation(wm_client *c, void *user, wm_payload *p)
{
    int64_t a, b;
    wm_writer *w;
    (void)user;
    wm_read_array(&p->args);
    a = wm_read_int(&p->args);
    b = wm_read_int(&p->args);
    if ((w = wm_yield(c, p->request)) != NULL) {
        wm_write_array(w, 1);
        wm_write_int(w, a + b);
        wm_send(c);
    }
}

static void on_result(wm_client *c, void *user, wm_payload *p)
{
    (void)c;
    (void)user;
    wm_read_array(&p->args);
    sink += wm_read_int(&p->args);
}

/* A client in a session with the canned router: subscribed to "t" (id 5)
 * and registered for "p" (id 6). */
static void join(int cobs)
{
    static const uint8_t reply[4] = {0x7f, 0xb2, 0, 0};
    wm_config cfg;
    wm_writer w;
    int k;
    memset(&rt, 0, sizeof rt);
    rt.cobs = cobs;
    memset(&cfg, 0, sizeof cfg);
    cfg.buf = buf;
    cfg.buf_size = sizeof buf;
    cfg.write = router_write;
    cfg.io = &rt;
    cfg.realm = "realm1";
    cfg.cobs = (uint8_t)cobs;
    wm_init(&cl, &cfg);
    wm_subscribe(&cl, &sub, "t", on_event, NULL);
    wm_register(&cl, &reg, "p", on_invocation, NULL);
    wm_start(&cl, 0);
    router_take(&rt);
    router_put(&rt, reply, 4);
    router_flush(&rt, &cl);
    router_take(&rt);
    w = msg_begin();
    wm_write_array(&w, 3);
    wm_write_uint(&w, 2);
    wm_write_uint(&w, 6668360102895388ull);
    wm_write_map(&w, 0);
    router_send(&rt, &w);
    router_flush(&rt, &cl);
    for (k = 0; k < 2; k++) {
        wm_reader r;
        uint64_t t, req;
        router_take(&rt);
        r = router_msg(&rt);
        wm_read_array(&r);
        t = wm_read_uint(&r);
        req = wm_read_uint(&r);
        w = msg_begin();
        wm_write_array(&w, 3);
        wm_write_uint(&w, t + 1);
        wm_write_uint(&w, req);
        wm_write_uint(&w, t == 32 ? 5 : 6);
        router_send(&rt, &w);
    }
    router_flush(&rt, &cl);
    rt.line_len = 0;
}

/* The positional arguments used: [42], or 40 bytes of binary as the
 * router's benchmark uses. */
static void args(wm_writer *w, int big)
{
    static const uint8_t forty[40] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    wm_write_array(w, big ? 1 : 2);
    if (big) {
        wm_write_bin(w, forty, sizeof forty);
    } else {
        wm_write_int(w, 42);
        wm_write_int(w, 7);
    }
}

/* Router -> device bytes of one frame built in msg_buf. */
static size_t router_bytes(wm_writer *w)
{
    size_t n;
    router_send(&rt, w);
    n = rt.out_len;
    rt.out_len = 0;
    return n;
}

static size_t event_in(int big)
{
    wm_writer w = msg_begin();
    wm_write_array(&w, 5);
    wm_write_uint(&w, 36);
    wm_write_uint(&w, 5);
    wm_write_uint(&w, publication);
    wm_write_map(&w, 0);
    args(&w, big);
    return router_bytes(&w);
}

static size_t invocation_in(uint64_t req, int big)
{
    wm_writer w = msg_begin();
    wm_write_array(&w, 5);
    wm_write_uint(&w, 68);
    wm_write_uint(&w, req);
    wm_write_uint(&w, 6);
    wm_write_map(&w, 0);
    args(&w, big);
    return router_bytes(&w);
}

static size_t result_in(uint64_t req, int big)
{
    wm_writer w = msg_begin();
    wm_write_array(&w, 4);
    wm_write_uint(&w, 50);
    wm_write_uint(&w, req);
    wm_write_map(&w, 0);
    args(&w, big);
    return router_bytes(&w);
}

/* Device -> router bytes of what the client writes for one publish. */
static size_t publish_out(int big)
{
    size_t n;
    wm_writer *w = wm_publish(&cl, "com.example.sensor", NULL, NULL);
    args(w, big);
    wm_send(&cl);
    n = rt.line_len;
    rt.line_len = 0;
    return n;
}

static size_t call_out(int big)
{
    size_t n;
    wm_writer *w = wm_call(&cl, "com.example.add", on_result, NULL, 1000);
    args(w, big);
    wm_send(&cl);
    n = rt.line_len;
    rt.line_len = 0;
    return n;
}

static size_t yield_out(int big)
{
    size_t n;
    /* The invocation's answer, as a handler writes it. */
    {
        wm_writer *w = wm_yield(&cl, 77);
        args(w, big);
        wm_send(&cl);
    }
    n = rt.line_len;
    rt.line_len = 0;
    return n;
}

static double seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double ns_per(double start, long n) { return (seconds() - start) * 1e9 / (double)n; }

static void line_table(void)
{
    int cobs, big;
    printf("bytes on the line (frame and framing; args [42, 7] or 40 bytes of binary)\n");
    printf("%-6s %-8s %10s %10s %10s %10s %10s | %12s %12s %12s %12s\n", "frame", "args", "event in", "publish",
           "call out", "result in", "inv+yield", "ev/s 115k2", "ev/s 1M", "calls/s 115k2", "calls/s 1M");
    for (cobs = 0; cobs < 2; cobs++)
        for (big = 0; big < 2; big++) {
            size_t ev, pub, call, res, inv, yld, callmax;
            join(cobs);
            ev = event_in(big);
            pub = publish_out(big);
            call = call_out(big);
            res = result_in(1, big);
            inv = invocation_in(77, big);
            yld = yield_out(big);
            callmax = call > res ? call : res;
            printf("%-6s %-8s %10u %10u %10u %10u %4u+%-5u | %12.0f %12.0f %12.0f %12.0f\n", cobs ? "cobs" : "plain",
                   big ? "40 B bin" : "[42, 7]", (unsigned)ev, (unsigned)pub, (unsigned)call, (unsigned)res,
                   (unsigned)inv, (unsigned)yld, 11520.0 / (double)ev, 100000.0 / (double)ev,
                   11520.0 / (double)callmax, 100000.0 / (double)callmax);
        }
    printf("(events/s: events delivered to the device, one direction; calls/s: the device calling, pipelined,\n"
           " bound by the busier direction; 8N1 is 10 bits a byte: 11520 B/s at 115200 baud, 100000 B/s at 1 Mbaud)\n\n");
}

static void cpu_table(void)
{
    const long n = 2000000;
    int cobs;
    printf("CPU time per message on this host (wampmcu alone, write callback a no-op)\n");
    printf("%-6s %14s %14s %14s\n", "frame", "event in", "publish out", "invocation in+yield");
    for (cobs = 0; cobs < 2; cobs++) {
        static uint8_t evbytes[256], invbytes[256];
        size_t evn, invn;
        long i;
        double t, ev, pub, inv;
        join(cobs);
        {
            wm_writer w = msg_begin();
            wm_write_array(&w, 5);
            wm_write_uint(&w, 36);
            wm_write_uint(&w, 5);
            wm_write_uint(&w, publication);
            wm_write_map(&w, 0);
            args(&w, 0);
            router_send(&rt, &w);
            evn = rt.out_len;
            memcpy(evbytes, rt.out, evn);
            rt.out_len = 0;
            w = msg_begin();
            wm_write_array(&w, 5);
            wm_write_uint(&w, 68);
            wm_write_uint(&w, 9);
            wm_write_uint(&w, 6);
            wm_write_map(&w, 0);
            args(&w, 0);
            router_send(&rt, &w);
            invn = rt.out_len;
            memcpy(invbytes, rt.out, invn);
            rt.out_len = 0;
        }
        cl.cfg.write = null_write;
        t = seconds();
        for (i = 0; i < n; i++)
            wm_feed(&cl, evbytes, evn);
        ev = ns_per(t, n);
        t = seconds();
        for (i = 0; i < n; i++) {
            wm_writer *w = wm_publish(&cl, "com.example.sensor", NULL, NULL);
            args(w, 0);
            wm_send(&cl);
        }
        pub = ns_per(t, n);
        t = seconds();
        for (i = 0; i < n; i++)
            wm_feed(&cl, invbytes, invn);
        inv = ns_per(t, n);
        printf("%-6s %11.0f ns %11.0f ns %11.0f ns\n", cobs ? "cobs" : "plain", ev, pub, inv);
        if (wm_get_state(&cl) != WM_READY) {
            printf("mcu-bench: the client left its session during the benchmark\n");
            exit(1);
        }
        wm_poll(&cl, 0);
    }
}

int main(void)
{
    line_table();
    cpu_table();
    return 0;
}
