/* The sensor board on an Arduino Uno (ATmega328P, 16 MHz) without the
 * Arduino core: USART0 at 115200 baud, Timer0 for the milliseconds, a
 * 512-byte buffer. It shows that the demo's logic fits the Uno's 2 KiB
 * of RAM; the Arduino adapter (arduino/) is the easier way in. */
#include "sensor.h"

#include <avr/interrupt.h>
#include <avr/io.h>

#ifndef SENSOR_BUF
#define SENSOR_BUF 512
#endif

static uint8_t buf[SENSOR_BUF];
static sensor board;
static volatile uint32_t ticks;
static volatile uint8_t rx_ring[64];
static volatile uint8_t rx_head, rx_tail;

ISR(TIMER0_COMPA_vect) { ticks++; }

ISR(USART_RX_vect)
{
    uint8_t next = (uint8_t)((rx_head + 1) & 63);
    uint8_t b = UDR0;
    if (next != rx_tail) {
        rx_ring[rx_head] = b;
        rx_head = next;
    }
}

static uint32_t millis(void)
{
    uint32_t t;
    cli();
    t = ticks;
    sei();
    return t;
}

static void uart_write(void *io, const uint8_t *data, size_t len)
{
    (void)io;
    while (len--) {
        while (!(UCSR0A & (1 << UDRE0)))
            ;
        UDR0 = *data++;
    }
}

int main(void)
{
    wm_config cfg = {0};
    UBRR0 = 16; /* 115200 baud at 16 MHz with U2X0 */
    UCSR0A = 1 << U2X0;
    UCSR0B = (1 << RXEN0) | (1 << TXEN0) | (1 << RXCIE0);
    TCCR0A = 1 << WGM01; /* CTC: 16 MHz / 64 / 250 = 1 kHz */
    TCCR0B = (1 << CS01) | (1 << CS00);
    OCR0A = 249;
    TIMSK0 = 1 << OCIE0A;
    sei();

    cfg.buf = buf;
    cfg.buf_size = sizeof buf;
    cfg.write = uart_write;
    sensor_init(&board, &cfg);
    wm_start(&board.wamp, millis());
    for (;;) {
        while (rx_tail != rx_head) {
            uint8_t b = rx_ring[rx_tail];
            rx_tail = (uint8_t)((rx_tail + 1) & 63);
            wm_feed(&board.wamp, &b, 1);
        }
        wm_poll(&board.wamp, millis());
    }
}
