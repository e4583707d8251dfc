/* mcu-demo: the sensor board (../sensor) on a POSIX serial device.
 *
 *     mcu-demo [-cobs] DEVICE
 *
 * Opens DEVICE raw at 115200 baud and runs the board for ever: when the
 * device goes away it is reopened (every 200 ms) and a new session starts.
 * One line per state change on stderr. */
#define _DEFAULT_SOURCE /* cfmakeraw, CLOCK_MONOTONIC */

#include "../sensor/sensor.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

static uint8_t buf[4096]; /* announces 2 KiB: room for an answer behind a full frame */
static sensor board;
static int line = -1;
static int broken;

static uint32_t millis(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint32_t)ts.tv_sec * 1000u + (uint32_t)(ts.tv_nsec / 1000000);
}

static void log_line(sensor *s, const char *what, const char *detail, size_t len)
{
    (void)s;
    if (detail)
        fprintf(stderr, "mcu-demo: %s %.*s\n", what, (int)len, detail);
    else
        fprintf(stderr, "mcu-demo: %s\n", what);
}

/* The whole of data, waiting for the line as needed; a line that fails
 * is marked broken and reopened by the main loop. */
static void line_write(void *io, const uint8_t *data, size_t len)
{
    (void)io;
    while (len && !broken) {
        ssize_t n = write(line, data, len);
        if (n > 0) {
            data += n;
            len -= (size_t)n;
        } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            struct pollfd p = {0, POLLOUT, 0};
            p.fd = line;
            if (poll(&p, 1, 1000) == 0)
                return; /* nobody reads: drop it, the protocol recovers */
        } else {
            broken = 1;
        }
    }
}

static int open_line(const char *path)
{
    struct termios t;
    int fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return -1;
    if (tcgetattr(fd, &t) == 0) {
        cfmakeraw(&t);
        cfsetispeed(&t, B115200);
        cfsetospeed(&t, B115200);
        t.c_cflag |= CLOCAL | CREAD;
        tcsetattr(fd, TCSANOW, &t);
    }
    tcflush(fd, TCIOFLUSH);
    return fd;
}

int main(int argc, char **argv)
{
    wm_config cfg;
    const char *path;
    int cobs = 0, gone_logged = 0;

    if (argc == 3 && strcmp(argv[1], "-cobs") == 0)
        cobs = 1;
    else if (argc != 2 || argv[1][0] == '-') {
        fprintf(stderr, "usage: mcu-demo [-cobs] DEVICE\n");
        return 2;
    }
    path = argv[argc - 1];
    setvbuf(stderr, NULL, _IOLBF, 0);

    memset(&cfg, 0, sizeof cfg);
    cfg.buf = buf;
    cfg.buf_size = sizeof buf;
    cfg.write = line_write;
    cfg.cobs = (uint8_t)cobs;
    board.log = log_line;
    sensor_init(&board, &cfg);

    for (;;) {
        line = open_line(path);
        if (line < 0) {
            if (!gone_logged)
                fprintf(stderr, "mcu-demo: %s not available (%s); retrying\n", path, strerror(errno));
            gone_logged = 1;
            usleep(200 * 1000);
            continue;
        }
        fprintf(stderr, "mcu-demo: opened %s (%s framing)\n", path, cobs ? "cobs" : "plain");
        gone_logged = 0;
        broken = 0;
        wm_start(&board.wamp, millis());
        while (!broken) {
            uint8_t in[1024];
            struct pollfd p = {0, POLLIN, 0};
            ssize_t n;
            p.fd = line;
            if (poll(&p, 1, 10) > 0) {
                n = read(line, in, sizeof in);
                if (n > 0)
                    wm_feed(&board.wamp, in, (size_t)n);
                else if (n == 0 || (errno != EAGAIN && errno != EINTR))
                    broken = 1;
                else if (p.revents & (POLLHUP | POLLERR))
                    broken = 1;
            }
            wm_poll(&board.wamp, millis());
        }
        close(line);
        fprintf(stderr, "mcu-demo: %s gone; reopening\n", path);
    }
}
