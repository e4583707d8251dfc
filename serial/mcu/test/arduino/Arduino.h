/* Just enough of the Arduino core to compile the adapter and the sketch
 * on a host (mcu-test); nothing here runs. */
#ifndef FAKE_ARDUINO_H
#define FAKE_ARDUINO_H
#include <stddef.h>
#include <stdint.h>
#define HIGH 1
#define LOW 0
#define OUTPUT 1
#define INPUT_PULLUP 2
#define LED_BUILTIN 13
#define A0 14
class Stream {
public:
    virtual ~Stream() {}
    virtual int available() { return 0; }
    virtual int read() { return -1; }
    virtual size_t write(const uint8_t *, size_t n) { return n; }
};
class HardwareSerial : public Stream {
public:
    void begin(unsigned long) {}
};
extern HardwareSerial Serial;
unsigned long millis();
void pinMode(int, int);
void digitalWrite(int, int);
int digitalRead(int);
int analogRead(int);
#endif
