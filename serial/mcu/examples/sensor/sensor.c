#include "sensor.h"

#include <string.h>

const char *sensor_state_name(wm_state st)
{
    static const char *const names[] = {"off", "paused", "handshake", "joining", "setup", "ready", "leaving"};
    return (unsigned)st < sizeof names / sizeof names[0] ? names[st] : "?";
}

static const char *error_name(wm_error e)
{
    static const char *const names[] = {"?", "handshake refused", "abort", "timeout", "protocol",
                                        "frame too big", "bad packet", "unknown message", "refused"};
    return (unsigned)e < sizeof names / sizeof names[0] ? names[e] : "?";
}

static void on_led(wm_client *c, void *user, wm_payload *p)
{
    sensor *s = (sensor *)user;
    int64_t n;
    wm_writer *w;
    wm_read_array(&p->args);
    n = wm_read_int(&p->args);
    s->leds++;
    if (p->args.err)
        return;
    w = wm_publish(c, "mcu.button", NULL, NULL);
    if (w) {
        wm_write_array(w, 2);
        wm_write_int(w, n);
        wm_write_uint(w, s->leds);
        wm_send(c);
    }
}

static void on_add(wm_client *c, void *user, wm_payload *p)
{
    wm_writer *w;
    int64_t a, b;
    (void)user;
    a = wm_read_array(&p->args) == 2 ? wm_read_int(&p->args) : 0;
    b = wm_read_int(&p->args);
    if (p->args.err) {
        w = wm_yield_error(c, p->request, "wamp.error.invalid_argument");
    } else if ((w = wm_yield(c, p->request)) != NULL) {
        wm_write_array(w, 1);
        wm_write_int(w, a + b);
    }
    if (w)
        wm_send(c);
}

static void on_echo(wm_client *c, void *user, wm_payload *p)
{
    (void)user;
    /* The arguments' bytes as they came: every kind survives unchanged. */
    if (wm_yield(c, p->request)) {
        wm_write_raw(&c->w, p->args.p, (size_t)(p->args.end - p->args.p));
        wm_send(c);
    }
}

static void on_clock(wm_client *c, void *user, wm_payload *p)
{
    wm_writer *w = wm_publish(c, "mcu.booted", NULL, NULL);
    (void)user;
    if (!w)
        return;
    if (p->error) {
        wm_write_array(w, 1);
        wm_write_str(w, p->error, p->error_len);
    } else {
        wm_write_raw(w, p->args.p, (size_t)(p->args.end - p->args.p));
    }
    wm_send(c);
}

static void on_state(wm_client *c, void *user, wm_state st)
{
    sensor *s = (sensor *)user;
    if (s->log)
        s->log(s, sensor_state_name(st), NULL, 0);
    if (st == WM_SETUP)
        s->leds = 0; /* a new session */
    if (st == WM_READY && wm_call(c, "mcu.clock", on_clock, s, 2000))
        wm_send(c);
}

static void on_error(wm_client *c, void *user, wm_error e, const char *text, size_t len)
{
    sensor *s = (sensor *)user;
    (void)c;
    if (s->log)
        s->log(s, error_name(e), text, text ? len : 0);
}

void sensor_init(sensor *s, wm_config *cfg)
{
    cfg->realm = "realm1";
    cfg->on_state = on_state;
    cfg->on_error = on_error;
    cfg->user = s;
    s->leds = 0;
    wm_init(&s->wamp, cfg);
    wm_subscribe(&s->wamp, &s->led, "mcu.led", on_led, s);
    wm_register(&s->wamp, &s->add, "mcu.add", on_add, s);
    wm_register(&s->wamp, &s->echo, "mcu.echo", on_echo, s);
}
