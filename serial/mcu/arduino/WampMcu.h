/* WampMcu: wampmcu over an Arduino Stream (Serial, Serial1, SoftwareSerial,
 * a USB-CDC port). Copy this header, wampmcu.h, wampmcu.c and
 * wampmcu_pack.c into the sketch's folder (or an Arduino library).
 *
 *     static uint8_t buf[512];
 *     WampMcu wamp(Serial, buf, sizeof buf);    // framing=cobs: WampMcu wamp(Serial, buf, sizeof buf, true);
 *     void setup() { Serial.begin(115200); wamp.subscribe(led, "com.example.led", onLed); wamp.begin(); }
 *     void loop()  { wamp.loop(); }
 *
 * Everything else is the C API on wamp.client() (see wampmcu.h): handlers
 * are plain functions, wm_publish/wm_call/wm_yield return a writer. */
#ifndef WAMPMCU_ARDUINO_H
#define WAMPMCU_ARDUINO_H

#include <Arduino.h>
#include <string.h>

#include "wampmcu.h"

class WampMcu {
public:
    WampMcu(Stream &line, uint8_t *buf, size_t size, bool cobs = false, const char *realm = "realm1")
        : line_(line)
    {
        wm_config cfg;
        memset(&cfg, 0, sizeof cfg);
        cfg.buf = buf;
        cfg.buf_size = size;
        cfg.write = write;
        cfg.io = &line_;
        cfg.realm = realm;
        cfg.cobs = cobs ? 1 : 0;
        wm_init(&client_, &cfg);
    }

    /* Optional, before begin(): state changes and errors, e.g. to blink a LED. */
    void onState(void (*fn)(wm_client *, void *, wm_state), void *user = 0)
    {
        client_.cfg.on_state = fn;
        client_.cfg.user = user;
    }
    void onError(void (*fn)(wm_client *, void *, wm_error, const char *, size_t)) { client_.cfg.on_error = fn; }

    /* Declared once (the storage must stay), set up in every session. */
    void subscribe(wm_subscription &s, const char *topic, wm_handler fn, void *user = 0)
    {
        wm_subscribe(&client_, &s, topic, fn, user);
    }
    void provide(wm_registration &r, const char *procedure, wm_handler fn, void *user = 0)
    {
        wm_register(&client_, &r, procedure, fn, user);
    }

    /* The first handshake. */
    void begin() { wm_start(&client_, millis()); }

    /* Call from loop(): what the line has, then the timers. */
    void loop()
    {
        uint8_t chunk[32];
        int n;
        while ((n = line_.available()) > 0) {
            size_t k = 0;
            while (k < sizeof chunk && line_.available() > 0)
                chunk[k++] = (uint8_t)line_.read();
            wm_feed(&client_, chunk, k);
        }
        wm_poll(&client_, millis());
    }

    bool ready() const { return wm_get_state(&client_) == WM_READY; }
    wm_client *client() { return &client_; }

private:
    static void write(void *io, const uint8_t *data, size_t len) { static_cast<Stream *>(io)->write(data, len); }

    Stream &line_;
    wm_client client_;
};

#endif
