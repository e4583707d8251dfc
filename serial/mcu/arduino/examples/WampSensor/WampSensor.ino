// WampSensor: an Arduino Uno on its USB serial port, joined to wampedge.
//
//   wampedge -listen tcp://0.0.0.0:8080 -listen 'serial:///dev/ttyACM0?baud=115200'
//   wampcat publish com.example.led 1          # the on-board LED lights
//   wampcat subscribe com.example.button       # [PRESSES] each time pin 2 goes low
//   wampcat call com.example.analog 0          # [analogRead(A0)]
//
// Copy WampMcu.h, wampmcu.h, wampmcu.c and wampmcu_pack.c next to this file.
#include "WampMcu.h"

static uint8_t buf[512];
static WampMcu wamp(Serial, buf, sizeof buf);
static wm_subscription led;
static wm_registration analog;
static unsigned long presses;

static void onLed(wm_client *, void *, wm_payload *p)
{
    wm_read_array(&p->args);
    digitalWrite(LED_BUILTIN, wm_read_int(&p->args) ? HIGH : LOW);
}

static void onAnalog(wm_client *c, void *, wm_payload *p)
{
    wm_read_array(&p->args);
    int64_t pin = wm_read_int(&p->args);
    wm_writer *w;
    if (p->args.err || pin < 0 || pin > 5)
        w = wm_yield_error(c, p->request, "wamp.error.invalid_argument");
    else if ((w = wm_yield(c, p->request)) != NULL) {
        wm_write_array(w, 1);
        wm_write_int(w, analogRead(A0 + (int)pin));
    }
    if (w)
        wm_send(c);
}

void setup()
{
    pinMode(LED_BUILTIN, OUTPUT);
    pinMode(2, INPUT_PULLUP);
    Serial.begin(115200);
    wamp.subscribe(led, "com.example.led", onLed);
    wamp.provide(analog, "com.example.analog", onAnalog);
    wamp.begin();
}

void loop()
{
    static int last = HIGH;
    int now = digitalRead(2);
    wamp.loop();
    if (now == LOW && last == HIGH && wamp.ready()) {
        wm_writer *w = wm_publish(wamp.client(), "com.example.button", NULL, NULL);
        if (w) {
            wm_write_array(w, 1);
            wm_write_uint(w, ++presses);
            wm_send(wamp.client());
        }
    }
    last = now;
}
