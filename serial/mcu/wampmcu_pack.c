/* MessagePack for wampmcu: a writer and a cursor reader, both bounded by
 * their region, byte by byte so that alignment and endianness never matter. */
#include "wampmcu.h"

#include <string.h>

/* ---------------------------------------------------------------------
 * Reader
 * ------------------------------------------------------------------ */

static size_t left(const wm_reader *r) { return r->err ? 0 : (size_t)(r->end - r->p); }

static void fail(wm_reader *r) { r->err = 1; }

/* n big-endian bytes at r->p, consumed; 0 and err if there are fewer. */
static uint64_t take(wm_reader *r, uint8_t n)
{
    uint64_t v = 0;
    if (left(r) < n) {
        fail(r);
        return 0;
    }
    while (n--)
        v = v << 8 | *r->p++;
    return v;
}

/* The kinds of the type bytes 0xc0 to 0xdf. */
static const uint8_t kinds[32] = {
    WM_KIND_NIL, WM_KIND_NONE, WM_KIND_BOOL, WM_KIND_BOOL,        /* c0: c1 is never used */
    WM_KIND_BIN, WM_KIND_BIN, WM_KIND_BIN,                        /* c4 */
    WM_KIND_EXT, WM_KIND_EXT, WM_KIND_EXT,                        /* c7 */
    WM_KIND_FLOAT, WM_KIND_FLOAT,                                 /* ca */
    WM_KIND_INT, WM_KIND_INT, WM_KIND_INT, WM_KIND_INT,           /* cc: uint 8-64 */
    WM_KIND_INT, WM_KIND_INT, WM_KIND_INT, WM_KIND_INT,           /* d0: int 8-64 */
    WM_KIND_EXT, WM_KIND_EXT, WM_KIND_EXT, WM_KIND_EXT, WM_KIND_EXT, /* d4: fixext */
    WM_KIND_STR, WM_KIND_STR, WM_KIND_STR,                        /* d9 */
    WM_KIND_ARRAY, WM_KIND_ARRAY, WM_KIND_MAP, WM_KIND_MAP};      /* dc */

wm_kind wm_peek(const wm_reader *r)
{
    uint8_t b;
    if (left(r) == 0)
        return WM_KIND_NONE;
    b = *r->p;
    if (b <= 0x7f || b >= 0xe0)
        return WM_KIND_INT;
    if (b <= 0x8f)
        return WM_KIND_MAP;
    if (b <= 0x9f)
        return WM_KIND_ARRAY;
    if (b <= 0xbf)
        return WM_KIND_STR;
    return (wm_kind)kinds[b - 0xc0];
}

void wm_read_nil(wm_reader *r)
{
    if (wm_peek(r) != WM_KIND_NIL)
        fail(r);
    else
        r->p++;
}

int wm_read_bool(wm_reader *r)
{
    if (wm_peek(r) != WM_KIND_BOOL) {
        fail(r);
        return 0;
    }
    return *r->p++ == 0xc3;
}

/* An integer as magnitude and sign: neg set means the value is -(mag)-1
 * cast back, i.e. mag holds the two's-complement int64 bits. */
static uint64_t read_integer(wm_reader *r, int *neg)
{
    uint8_t b, n;
    uint64_t v;
    *neg = 0;
    if (wm_peek(r) != WM_KIND_INT) {
        fail(r);
        return 0;
    }
    b = *r->p++;
    if (b <= 0x7f)
        return b;
    if (b >= 0xe0) {
        *neg = 1;
        return (uint64_t)(int64_t)(int8_t)b;
    }
    n = (uint8_t)(1 << (b & 3)); /* cc-cf and d0-d3: 1, 2, 4, 8 bytes */
    v = take(r, n);
    if (b >= 0xd0) {
        /* Signed: extend the sign; a signed encoding may hold a positive value. */
        if (n < 8 && (v >> (8 * n - 1)) & 1)
            v |= ~(uint64_t)0 << (8 * n);
        *neg = (v >> 63) != 0;
    }
    return v;
}

int64_t wm_read_int(wm_reader *r)
{
    int neg;
    uint64_t v = read_integer(r, &neg);
    if (!neg && v > (uint64_t)INT64_MAX) {
        fail(r);
        return 0;
    }
    return (int64_t)v; /* two's complement bits back to the value */
}

uint64_t wm_read_uint(wm_reader *r)
{
    int neg;
    uint64_t v = read_integer(r, &neg);
    if (neg) {
        fail(r);
        return 0;
    }
    return v;
}

/* IEEE bits to the platform's double, which on AVR is a 32-bit float. */
static double from_f32(uint32_t bits)
{
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

static double from_f64(uint64_t bits)
{
    if (sizeof(double) == 8) {
        double d;
        memcpy(&d, &bits, sizeof d);
        return d;
    } else {
        /* Narrow to float32 by hand: rebias the exponent, cut the mantissa. */
        uint32_t sign = (uint32_t)(bits >> 32) & 0x80000000u;
        int32_t e = (int32_t)((bits >> 52) & 0x7ff);
        uint32_t mant = (uint32_t)(bits >> 29) & 0x7fffffu;
        if (e == 0x7ff)
            return from_f32(sign | 0x7f800000u | mant);
        e = e - 1023 + 127;
        if (e >= 255)
            return from_f32(sign | 0x7f800000u);
        if (e <= 0)
            return from_f32(sign);
        return from_f32(sign | (uint32_t)e << 23 | mant);
    }
}

double wm_read_double(wm_reader *r)
{
    wm_kind k = wm_peek(r);
    if (k == WM_KIND_INT) {
        int neg;
        uint64_t v = read_integer(r, &neg);
        return neg ? (double)(int64_t)v : (double)v;
    }
    if (k != WM_KIND_FLOAT) {
        fail(r);
        return 0;
    }
    if (*r->p++ == 0xca)
        return from_f32((uint32_t)take(r, 4));
    return from_f64(take(r, 8));
}

/* The length of a str or bin whose header is at r->p (consumed), checked
 * against what is left; 0 and err if the kind is not want. */
static size_t sized(wm_reader *r, wm_kind want)
{
    uint8_t b;
    uint64_t n;
    if (wm_peek(r) != want) {
        fail(r);
        return 0;
    }
    b = *r->p++;
    if (b >= 0xa0 && b <= 0xbf)
        n = b & 0x1f;
    else if (b == 0xd9 || b == 0xc4)
        n = take(r, 1);
    else if (b == 0xda || b == 0xc5)
        n = take(r, 2);
    else
        n = take(r, 4);
    if (n > left(r)) {
        fail(r);
        return 0;
    }
    return (size_t)n;
}

const char *wm_read_str(wm_reader *r, size_t *len)
{
    size_t n = sized(r, WM_KIND_STR);
    const char *s = (const char *)r->p;
    *len = n;
    if (r->err)
        return NULL;
    r->p += n;
    return s;
}

const uint8_t *wm_read_bin(wm_reader *r, size_t *len)
{
    size_t n = sized(r, WM_KIND_BIN);
    const uint8_t *b = r->p;
    *len = n;
    if (r->err)
        return NULL;
    r->p += n;
    return b;
}

int wm_read_str_is(wm_reader *r, const char *s)
{
    wm_reader probe = *r;
    size_t n;
    const char *got;
    if (wm_peek(r) != WM_KIND_STR)
        return 0;
    got = wm_read_str(&probe, &n);
    if (probe.err || n != strlen(s) || memcmp(got, s, n) != 0)
        return 0;
    *r = probe;
    return 1;
}

static uint32_t container(wm_reader *r, wm_kind want, uint8_t fix)
{
    uint8_t b;
    if (wm_peek(r) != want) {
        fail(r);
        return 0;
    }
    b = *r->p++;
    if ((b & 0xf0) == fix)
        return b & 0x0f;
    return (uint32_t)take(r, (b & 1) ? 4 : 2); /* dc/de: 16 bits, dd/df: 32 */
}

uint32_t wm_read_array(wm_reader *r) { return container(r, WM_KIND_ARRAY, 0x90); }

uint32_t wm_read_map(wm_reader *r) { return container(r, WM_KIND_MAP, 0x80); }

/* Skips without recursion: a count of values still to skip, which no
 * honest input can make larger than the bytes left. */
void wm_skip(wm_reader *r)
{
    uint32_t todo = 1;
    while (todo && !r->err) {
        uint8_t b;
        uint32_t n;
        todo--;
        switch (wm_peek(r)) {
        case WM_KIND_NIL:
        case WM_KIND_BOOL:
            r->p++;
            break;
        case WM_KIND_INT:
        case WM_KIND_FLOAT:
            b = *r->p;
            if (b <= 0x7f || b >= 0xe0) {
                r->p++;
                break;
            }
            r->p++;
            n = b == 0xca ? 4 : b == 0xcb ? 8 : (uint32_t)1 << (b & 3);
            take(r, (uint8_t)n);
            break;
        case WM_KIND_STR:
        case WM_KIND_BIN:
            n = (uint32_t)sized(r, wm_peek(r));
            if (!r->err)
                r->p += n;
            break;
        case WM_KIND_EXT:
            b = *r->p++;
            if (b >= 0xd4)
                n = (uint32_t)1 << (b - 0xd4);
            else
                n = (uint32_t)take(r, (uint8_t)(1 << (b - 0xc7)));
            if (n + 1 > left(r) || n + 1 == 0)
                fail(r);
            else
                r->p += n + 1; /* the type byte, then the data */
            break;
        case WM_KIND_ARRAY:
            n = wm_read_array(r);
            goto nested;
        case WM_KIND_MAP:
            n = wm_read_map(r);
            if (n > 0x7fffffffu) {
                fail(r);
                break;
            }
            n *= 2;
        nested:
            if (n > left(r) || todo + n < todo)
                fail(r);
            else
                todo += n;
            break;
        default:
            fail(r);
        }
    }
}

/* ---------------------------------------------------------------------
 * Writer
 * ------------------------------------------------------------------ */

/* Room for n more bytes, or err. */
static int room(wm_writer *w, size_t n)
{
    if (w->err || (size_t)(w->end - w->p) < n) {
        w->err = 1;
        return 0;
    }
    return 1;
}

/* A type byte b, then v in n big-endian bytes. */
static void put(wm_writer *w, uint8_t b, uint64_t v, uint8_t n)
{
    if (!room(w, (size_t)n + 1))
        return;
    *w->p++ = b;
    while (n--)
        *w->p++ = (uint8_t)(v >> (8 * n));
}

void wm_write_nil(wm_writer *w) { put(w, 0xc0, 0, 0); }

void wm_write_bool(wm_writer *w, int v) { put(w, v ? 0xc3 : 0xc2, 0, 0); }

void wm_write_uint(wm_writer *w, uint64_t v)
{
    if (v <= 0x7f)
        put(w, (uint8_t)v, 0, 0);
    else if (v <= 0xff)
        put(w, 0xcc, v, 1);
    else if (v <= 0xffff)
        put(w, 0xcd, v, 2);
    else if (v <= 0xffffffffu)
        put(w, 0xce, v, 4);
    else
        put(w, 0xcf, v, 8);
}

void wm_write_int(wm_writer *w, int64_t v)
{
    if (v >= 0)
        wm_write_uint(w, (uint64_t)v);
    else if (v >= -32)
        put(w, (uint8_t)(int8_t)v, 0, 0);
    else if (v >= INT8_MIN)
        put(w, 0xd0, (uint64_t)v, 1);
    else if (v >= INT16_MIN)
        put(w, 0xd1, (uint64_t)v, 2);
    else if (v >= INT32_MIN)
        put(w, 0xd2, (uint64_t)v, 4);
    else
        put(w, 0xd3, (uint64_t)v, 8);
}

void wm_write_float(wm_writer *w, float v)
{
    uint32_t bits;
    memcpy(&bits, &v, sizeof bits);
    put(w, 0xca, bits, 4);
}

void wm_write_double(wm_writer *w, double v)
{
    if (sizeof(double) == 8) {
        uint64_t bits;
        memcpy(&bits, &v, sizeof bits);
        put(w, 0xcb, bits, 8);
    } else {
        wm_write_float(w, (float)v);
    }
}

/* A header for a str or bin of len bytes, then the bytes. */
static void sized_put(wm_writer *w, uint8_t fix, uint8_t base, const void *data, size_t len)
{
    if (fix && len <= 31)
        put(w, (uint8_t)(fix | len), 0, 0);
    else if (len <= 0xff)
        put(w, base, len, 1);
    else if (len <= 0xffff)
        put(w, (uint8_t)(base + 1), len, 2);
    else
        put(w, (uint8_t)(base + 2), len, 4);
    wm_write_raw(w, data, len);
}

void wm_write_str(wm_writer *w, const char *s, size_t len) { sized_put(w, 0xa0, 0xd9, s, len); }

void wm_write_strz(wm_writer *w, const char *s) { wm_write_str(w, s, strlen(s)); }

void wm_write_bin(wm_writer *w, const void *data, size_t len) { sized_put(w, 0, 0xc4, data, len); }

static void container_put(wm_writer *w, uint8_t fix, uint8_t base, uint32_t n)
{
    if (n <= 15)
        put(w, (uint8_t)(fix | n), 0, 0);
    else if (n <= 0xffff)
        put(w, base, n, 2);
    else
        put(w, (uint8_t)(base + 1), n, 4);
}

void wm_write_array(wm_writer *w, uint32_t n) { container_put(w, 0x90, 0xdc, n); }

void wm_write_map(wm_writer *w, uint32_t n) { container_put(w, 0x80, 0xde, n); }

void wm_write_raw(wm_writer *w, const void *data, size_t len)
{
    if (len && room(w, len)) {
        memcpy(w->p, data, len);
        w->p += len;
    }
}
