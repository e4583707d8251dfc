/* A canned router for the host tests, the fuzzer and the benchmark: it
 * captures what the client writes, splits it into frames, and builds the
 * bytes a router would send, plain or COBS. Its COBS is written apart
 * from the library's (a whole packet at a time), so that each checks the
 * other. */
#ifndef WAMPMCU_TEST_ROUTER_H
#define WAMPMCU_TEST_ROUTER_H

#include "../wampmcu.h"

#include <stdlib.h>
#include <string.h>

typedef struct router {
    uint8_t line[1 << 16]; /* what the client wrote, not yet taken */
    size_t line_len;
    int cobs;
    uint8_t frame[1 << 16]; /* the last frame taken, header included */
    size_t frame_len;
    uint8_t out[1 << 16]; /* bytes for the client */
    size_t out_len;
} router;

static inline void router_write(void *io, const uint8_t *data, size_t len)
{
    router *rt = (router *)io;
    if (rt->line_len + len > sizeof rt->line)
        len = sizeof rt->line - rt->line_len; /* a test that writes this much has failed anyway */
    memcpy(rt->line + rt->line_len, data, len);
    rt->line_len += len;
}

/* Undoes COBS on p[0..n) into dst; the length, or -1. */
static inline long cobs_decode(const uint8_t *p, size_t n, uint8_t *dst)
{
    size_t i = 0, o = 0;
    while (i < n) {
        uint8_t code = p[i++], k;
        if (code == 0 || i + code - 1 > n)
            return -1;
        for (k = 1; k < code; k++)
            dst[o++] = p[i++];
        if (code != 0xff && i < n)
            dst[o++] = 0;
    }
    return (long)o;
}

static inline size_t cobs_encode(const uint8_t *p, size_t n, uint8_t *dst)
{
    size_t o = 0, code_at = o++, i;
    uint8_t code = 1;
    for (i = 0; i < n; i++) {
        if (p[i] == 0) {
            dst[code_at] = code;
            code_at = o++;
            code = 1;
            continue;
        }
        dst[o++] = p[i];
        if (++code == 0xff) {
            dst[code_at] = code;
            code_at = o++;
            code = 1;
        }
    }
    dst[code_at] = code;
    dst[o++] = 0;
    return o;
}

/* Takes the next whole frame (or handshake, 4 bytes) the client wrote:
 * 1 if there was one, -1 if what is there is broken. */
static inline int router_take(router *rt)
{
    size_t used;
    if (rt->cobs) {
        uint8_t tmp[sizeof rt->frame + 8];
        uint8_t *z;
        long n;
        /* Empty packets are resynchronisation marks. */
        while (rt->line_len && rt->line[0] == 0) {
            memmove(rt->line, rt->line + 1, --rt->line_len);
        }
        z = (uint8_t *)memchr(rt->line, 0, rt->line_len);
        if (!z)
            return 0;
        used = (size_t)(z - rt->line) + 1;
        n = cobs_decode(rt->line, used - 1, tmp);
        memmove(rt->line, rt->line + used, rt->line_len - used);
        rt->line_len -= used;
        if (n < 3 || wm_crc16(tmp, (size_t)n) != 0)
            return -1;
        memcpy(rt->frame, tmp, (size_t)n - 2);
        rt->frame_len = (size_t)n - 2;
        return 1;
    }
    if (rt->line_len < 4)
        return 0;
    if (rt->line[0] == 0x7f)
        used = 4;
    else
        used = 4 + ((size_t)rt->line[1] << 16 | (size_t)rt->line[2] << 8 | rt->line[3]);
    if (rt->line_len < used)
        return 0;
    memcpy(rt->frame, rt->line, used);
    rt->frame_len = used;
    memmove(rt->line, rt->line + used, rt->line_len - used);
    rt->line_len -= used;
    return 1;
}

/* A reader over the last frame's message. */
static inline wm_reader router_msg(const router *rt)
{
    wm_reader r;
    r.p = rt->frame + 4;
    r.end = rt->frame + rt->frame_len;
    r.err = 0;
    return r;
}

/* Queues data (a handshake, or a frame with its header) for the client. */
static inline void router_put(router *rt, const uint8_t *data, size_t n)
{
    if (rt->cobs) {
        uint8_t tmp[sizeof rt->out];
        uint16_t crc = wm_crc16(data, n);
        memcpy(tmp, data, n);
        tmp[n] = (uint8_t)(crc >> 8);
        tmp[n + 1] = (uint8_t)crc;
        rt->out_len += cobs_encode(tmp, n + 2, rt->out + rt->out_len);
    } else {
        memcpy(rt->out + rt->out_len, data, n);
        rt->out_len += n;
    }
}

/* A message frame: the writer w wrote the message into msg. */
static inline void router_put_msg(router *rt, uint8_t type, const uint8_t *msg, size_t n)
{
    uint8_t f[sizeof rt->out];
    f[0] = type;
    f[1] = (uint8_t)(n >> 16);
    f[2] = (uint8_t)(n >> 8);
    f[3] = (uint8_t)n;
    memcpy(f + 4, msg, n);
    router_put(rt, f, n + 4);
}

/* Gives the client everything queued, in one piece. */
static inline void router_flush(router *rt, wm_client *c)
{
    size_t n = rt->out_len;
    rt->out_len = 0;
    wm_feed(c, rt->out, n);
}

/* A writer for building a router message. */
static uint8_t msg_buf[1 << 16];
static inline wm_writer msg_begin(void)
{
    wm_writer w;
    w.p = msg_buf;
    w.end = msg_buf + sizeof msg_buf;
    w.err = 0;
    return w;
}

static inline void router_send(router *rt, wm_writer *w)
{
    router_put_msg(rt, 0, msg_buf, (size_t)(w->p - msg_buf));
}

#endif
