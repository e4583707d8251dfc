/* The demo's sensor board, in portable C over wampmcu: the same logic
 * runs in the POSIX demo and compiles for an Arduino Uno.
 *
 * - registers mcu.add (two integers -> [sum]) and mcu.echo (its
 *   positional arguments back as they came);
 * - subscribes to mcu.led: each event [N] is answered by publishing
 *   mcu.button [N, COUNT], COUNT the mcu.led events of this session;
 * - once a session is set up, calls mcu.clock and publishes mcu.booted
 *   with what came back, or [ERROR_URI]. */
#ifndef SENSOR_H
#define SENSOR_H

#include "../../wampmcu.h"

typedef struct sensor {
    wm_client wamp;
    wm_subscription led;
    wm_registration add, echo;
    uint32_t leds; /* mcu.led events in this session */
    /* One line per state change or error, for a log; may be NULL. */
    void (*log)(struct sensor *s, const char *what, const char *detail, size_t len);
} sensor;

/* cfg: buffer, write and framing; the rest is filled in here. */
void sensor_init(sensor *s, wm_config *cfg);

const char *sensor_state_name(wm_state st);

#endif
