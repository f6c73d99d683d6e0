/* The load generator of bench/relay_load.py: WebSocket streams through a relay, in C so that it
 * needs a small part of the CPU the relay needs (the Python generator of bench/relay_streams.py
 * needed as much as the relay, which capped what two cores could measure).
 *
 * It opens pairs of WebSocket connections to a relay (plain TCP, IPv4), sends 16 KiB binary
 * messages (masked, as a client must) at 180 kB/s from the first connection of each pair, reads
 * and parses the frames the relay writes to the second, and reports the delivered share and the
 * latency percentiles. Every message carries its *scheduled* send time: a sender held back by the
 * relay's backpressure shows as latency, not as fewer messages. One thread, epoll.
 *
 * Commands on standard input, one a line (secrets come this way, never in argv):
 *   pair ID HOST PORT PATH_A PROTOCOLS_A PATH_B PROTOCOLS_B
 *       PROTOCOLS: Sec-WebSocket-Protocol's value without spaces ("a,b"), or "-" for none.
 *       Answers "paired ID" when both upgrades were answered with 101, "failed ID REASON" if not.
 *   run STREAMS WARM_SECONDS SECONDS
 *       The first STREAMS pairs send for WARM_SECONDS, then measure for SECONDS, then stop
 *       (their connections stay open, idle). Prints "measuring" when the window opens and
 *       "result {json}" when it closes.
 *   quit
 * Errors on an open pair are counted ("broken" in the result), never fatal.
 *
 *   cc -O2 -o relay_load bench/relay_load.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define MESSAGE 16384
#define RATE 180000.0
#define HEADER 8 /* 0x82, 0x80|126, length (2), mask (4) */
#define STAMP 8
#define READ_CHUNK (256 * 1024)

enum { CONNECTING, HANDSHAKE, OPEN, CLOSED };

typedef struct Conn {
    int fd;
    int pair;
    int sender;
    int state;
    unsigned char *out; /* bytes not yet written */
    size_t out_len, out_off, out_cap;
    char response[2048]; /* the upgrade's answer, until its blank line */
    size_t response_len;
    /* the frame being read */
    unsigned char head[14];
    int head_len, head_need;
    uint64_t remaining, position;
    int opcode;
    unsigned char first[STAMP];
    unsigned char control[125];
} Conn;

typedef struct Pair {
    long id;
    Conn a, b; /* a sends, b receives */
    uint64_t next_at; /* scheduled time of the next message (ns, CLOCK_MONOTONIC) */
    int heap_at; /* -1: not in the heap */
    int open, reported, broken;
} Pair;

static Pair **pairs;
static int pair_count, pair_cap;
static int epoll_fd;
static unsigned char mask_key[4];
static unsigned char filler[MESSAGE - STAMP]; /* random bytes, already masked */
static uint64_t interval_ns;

/* the run */
static int active, running, measuring;
static uint64_t window_start, window_end;
static long sent, received, broken_count;
static uint32_t *latencies; /* microseconds */
static size_t latency_count, latency_cap;
static struct rusage usage_before;

static uint64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static void *grow(void *p, size_t size) {
    void *q = realloc(p, size);
    if (!q) {
        perror("realloc");
        exit(2);
    }
    return q;
}

/* -- the heap of senders waiting for their next message's time --------------------------- */

static Pair **heap;
static int heap_len;

static void heap_swap(int i, int j) {
    Pair *t = heap[i];
    heap[i] = heap[j];
    heap[j] = t;
    heap[i]->heap_at = i;
    heap[j]->heap_at = j;
}

/* The entry at i moved up while it is due before its parent; where it stands then. */
static int heap_up(int i) {
    while (i > 0 && heap[(i - 1) / 2]->next_at > heap[i]->next_at) {
        heap_swap(i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
    return i;
}

/* The entry at i moved down while a child is due before it. */
static void heap_down(int i) {
    for (;;) {
        int l = 2 * i + 1, r = l + 1, m = i;
        if (l < heap_len && heap[l]->next_at < heap[m]->next_at) m = l;
        if (r < heap_len && heap[r]->next_at < heap[m]->next_at) m = r;
        if (m == i) break;
        heap_swap(i, m);
        i = m;
    }
}

static void heap_push(Pair *p) {
    int i = heap_len++;
    heap[i] = p;
    p->heap_at = i;
    heap_up(i);
}

static Pair *heap_pop(void) {
    Pair *top = heap[0];
    top->heap_at = -1;
    heap_len--;
    if (heap_len > 0) {
        heap[0] = heap[heap_len];
        heap[0]->heap_at = 0;
        heap_down(0);
    }
    return top;
}

/* -- writing -------------------------------------------------------------------------------- */

static void want_write(Conn *c, int yes) {
    struct epoll_event e = {.events = EPOLLIN | (yes ? EPOLLOUT : 0), .data.ptr = c};
    epoll_ctl(epoll_fd, EPOLL_CTL_MOD, c->fd, &e);
}

static void queue_bytes(Conn *c, const void *data, size_t len) {
    if (c->out_len + len > c->out_cap) {
        c->out_cap = (c->out_len + len) * 2;
        c->out = grow(c->out, c->out_cap);
    }
    memcpy(c->out + c->out_len, data, len);
    c->out_len += len;
}

static void pair_broken(Pair *p, Conn *c, const char *why);

/* Writes what is queued; 1 when nothing is left. */
static int flush(Conn *c) {
    while (c->out_off < c->out_len) {
        ssize_t n = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
        if (n < 0) {
            if (errno == EAGAIN) {
                want_write(c, 1);
                return 0;
            }
            if (errno == EINTR) continue;
            pair_broken(pairs[c->pair], c, "write");
            return 0;
        }
        c->out_off += (size_t)n;
    }
    c->out_off = c->out_len = 0;
    return 1;
}

static void send_frame(Conn *c, int opcode, const unsigned char *payload, size_t len) {
    unsigned char frame[2 + 4 + 125];
    frame[0] = 0x80 | opcode;
    frame[1] = 0x80 | (unsigned char)len;
    memcpy(frame + 2, mask_key, 4);
    for (size_t i = 0; i < len; i++) frame[6 + i] = payload[i] ^ mask_key[i & 3];
    int idle = c->out_len == 0;
    queue_bytes(c, frame, 6 + len);
    if (idle) flush(c);
}

/* One data message stamped with its scheduled time; 1 when it was written whole. */
static int send_message(Pair *p, uint64_t stamp) {
    Conn *c = &p->a;
    unsigned char head[HEADER + STAMP] = {0x82, 0x80 | 126, MESSAGE >> 8, MESSAGE & 0xFF};
    memcpy(head + 4, mask_key, 4);
    memcpy(head + HEADER, &stamp, STAMP);
    for (int i = 0; i < STAMP; i++) head[HEADER + i] ^= mask_key[i & 3];
    struct iovec parts[2] = {{head, sizeof head}, {filler, sizeof filler}};
    size_t total = sizeof head + sizeof filler;
    ssize_t n;
    do n = writev(c->fd, parts, 2);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        if (errno != EAGAIN) {
            pair_broken(p, c, "writev");
            return 0;
        }
        n = 0;
    }
    if ((size_t)n == total) return 1;
    if ((size_t)n < sizeof head) {
        queue_bytes(c, head + n, sizeof head - (size_t)n);
        queue_bytes(c, filler, sizeof filler);
    } else {
        queue_bytes(c, filler + ((size_t)n - sizeof head), total - (size_t)n);
    }
    want_write(c, 1);
    return 0;
}

/* Sends what is due; back in the heap when its socket took everything. */
static void send_due(Pair *p, uint64_t now) {
    while (p->open && p->next_at <= now && active && p->a.out_len == 0) {
        uint64_t stamp = p->next_at;
        p->next_at += interval_ns;
        int whole = send_message(p, stamp);
        if (measuring) sent++;
        if (!whole) return; /* rejoins the heap once its socket drained (on_writable) */
    }
    if (p->open && active && p->a.out_len == 0 && p->heap_at < 0) heap_push(p);
}

/* -- reading -------------------------------------------------------------------------------- */

static void frame_done(Pair *p, Conn *c) {
    if (c->opcode == 0x2 && c->position >= STAMP && !c->sender) {
        if (measuring) {
            uint64_t stamp;
            memcpy(&stamp, c->first, STAMP);
            uint64_t now = now_ns();
            received++;
            if (latency_count == latency_cap) {
                latency_cap = latency_cap ? latency_cap * 2 : 1 << 16;
                latencies = grow(latencies, latency_cap * sizeof *latencies);
            }
            latencies[latency_count++] = (uint32_t)((now > stamp ? now - stamp : 0) / 1000);
        }
    } else if (c->opcode == 0x9) { /* ping: answer with its payload */
        send_frame(c, 0xA, c->control, c->position < 125 ? c->position : 125);
    } else if (c->opcode == 0x8) {
        pair_broken(p, c, "closed by the relay");
    }
}

static void parse(Pair *p, Conn *c, const unsigned char *data, size_t len) {
    size_t at = 0;
    while (at < len && c->state == OPEN) {
        if (c->remaining == 0 && c->head_len < c->head_need) {
            c->head[c->head_len++] = data[at++];
            if (c->head_len == 2) {
                int length = c->head[1] & 0x7F;
                c->head_need = 2 + (length == 126 ? 2 : length == 127 ? 8 : 0) +
                               (c->head[1] & 0x80 ? 4 : 0);
            }
            if (c->head_len < c->head_need) continue;
            uint64_t length = c->head[1] & 0x7F;
            if (length == 126) length = ((uint64_t)c->head[2] << 8) | c->head[3];
            else if (length == 127) {
                length = 0;
                for (int i = 0; i < 8; i++) length = (length << 8) | c->head[2 + i];
            }
            c->opcode = c->head[0] & 0x0F;
            c->remaining = length;
            c->position = 0;
            c->head_len = 0;
            c->head_need = 2;
            if (length == 0) frame_done(p, c);
            continue;
        }
        size_t take = len - at < c->remaining ? len - at : (size_t)c->remaining;
        unsigned char *keep = c->opcode >= 0x8 ? c->control : c->first;
        size_t room = c->opcode >= 0x8 ? sizeof c->control : STAMP;
        if (c->position < room) {
            size_t n = room - c->position < take ? room - c->position : take;
            memcpy(keep + c->position, data + at, n);
        }
        c->position += take;
        c->remaining -= take;
        at += take;
        if (c->remaining == 0) frame_done(p, c);
    }
}

static void report_pair(Pair *p) {
    if (!p->reported && p->a.state == OPEN && p->b.state == OPEN) {
        p->reported = p->open = 1;
        printf("paired %ld\n", p->id);
        fflush(stdout);
    }
}

static void handshake_read(Pair *p, Conn *c, unsigned char *data, size_t len) {
    size_t room = sizeof c->response - 1 - c->response_len;
    size_t n = len < room ? len : room;
    memcpy(c->response + c->response_len, data, n);
    c->response_len += n;
    c->response[c->response_len] = 0;
    char *end = strstr(c->response, "\r\n\r\n");
    if (!end) {
        if (c->response_len == sizeof c->response - 1) pair_broken(p, c, "answer too long");
        return;
    }
    if (strncmp(c->response, "HTTP/1.1 101", 12) != 0) {
        char *eol = strstr(c->response, "\r\n");
        *eol = 0;
        pair_broken(p, c, c->response);
        return;
    }
    c->state = OPEN;
    size_t used = (size_t)(end + 4 - c->response) - (c->response_len - n);
    report_pair(p);
    if (used < len) parse(p, c, data + used, len - used);
}

static void on_readable(Pair *p, Conn *c) {
    static unsigned char buffer[READ_CHUNK];
    for (;;) {
        ssize_t n = read(c->fd, buffer, sizeof buffer);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno != EAGAIN) pair_broken(p, c, "read");
            return;
        }
        if (n == 0) {
            pair_broken(p, c, "connection closed");
            return;
        }
        if (c->state == HANDSHAKE) handshake_read(p, c, buffer, (size_t)n);
        else if (c->state == OPEN) parse(p, c, buffer, (size_t)n);
        if (c->state == CLOSED || (size_t)n < sizeof buffer) return;
    }
}

/* -- connecting ----------------------------------------------------------------------------- */

static char *request_of(const char *host, const char *port, const char *path,
                        const char *protocols) {
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char key[25];
    for (int i = 0; i < 21; i++) key[i] = b64[rand() & 63];
    key[21] = b64[(rand() & 3) << 4];
    strcpy(key + 22, "==");
    char *request = NULL;
    int n = asprintf(&request,
                     "GET %s HTTP/1.1\r\nHost: %s:%s\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                     "Sec-WebSocket-Version: 13\r\n%s%s%s\r\n",
                     path, host, port, key, strcmp(protocols, "-") ? "Sec-WebSocket-Protocol: " : "",
                     strcmp(protocols, "-") ? protocols : "", strcmp(protocols, "-") ? "\r\n" : "");
    if (n < 0) exit(2);
    return request;
}

static int open_conn(Pair *p, Conn *c, int sender, const char *host, const char *port,
                     const char *path, const char *protocols) {
    memset(c, 0, sizeof *c);
    c->pair = pair_count - 1;
    c->sender = sender;
    c->head_need = 2;
    c->state = CONNECTING;
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) return -1;
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port))};
    if (inet_pton(AF_INET, host, &to.sin_addr) != 1) return -1;
    struct epoll_event e = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
    if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, c->fd, &e) < 0) return -1;
    if (connect(c->fd, (struct sockaddr *)&to, sizeof to) < 0 && errno != EINPROGRESS) return -1;
    char *request = request_of(host, port, path, protocols);
    queue_bytes(c, request, strlen(request));
    free(request);
    (void)p;
    return 0;
}

static void on_writable(Pair *p, Conn *c) {
    if (c->state == CONNECTING) {
        int error = 0;
        socklen_t size = sizeof error;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &error, &size);
        if (error) {
            pair_broken(p, c, strerror(error));
            return;
        }
        c->state = HANDSHAKE;
    }
    if (!flush(c)) return;
    want_write(c, 0);
    if (c->sender && c->state == OPEN && p->heap_at < 0) send_due(p, now_ns());
}

static void pair_broken(Pair *p, Conn *c, const char *why) {
    if (c->state == CLOSED) return;
    for (Conn *end = &p->a; end <= &p->b; end++) {
        if (end->state != CLOSED) {
            epoll_ctl(epoll_fd, EPOLL_CTL_DEL, end->fd, NULL);
            close(end->fd);
            end->state = CLOSED;
        }
    }
    if (p->heap_at >= 0) { /* out of the heap: move the last one into its place */
        int i = p->heap_at;
        Pair *last = heap[--heap_len];
        p->heap_at = -1;
        if (last != p) {
            heap[i] = last;
            last->heap_at = i;
            heap_down(heap_up(i));
        }
    }
    if (!p->reported) {
        p->reported = 1;
        printf("failed %ld %s\n", p->id, why);
        fflush(stdout);
    } else if (!p->broken) {
        broken_count++;
        fprintf(stderr, "pair %ld broken: %s\n", p->id, why);
    }
    p->broken = 1;
    p->open = 0;
}

/* -- commands -------------------------------------------------------------------------------- */

static int compare(const void *x, const void *y) {
    uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
    return a < b ? -1 : a > b;
}

static double percentile(double q) {
    if (!latency_count) return -1;
    return latencies[(size_t)(q * (double)(latency_count - 1))] / 1000.0;
}

static double cpu_of(const struct rusage *u) {
    return (double)u->ru_utime.tv_sec + u->ru_utime.tv_usec / 1e6 + (double)u->ru_stime.tv_sec +
           u->ru_stime.tv_usec / 1e6;
}

static void finish_run(uint64_t now) {
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    measuring = running = 0;
    while (heap_len) heap_pop();
    qsort(latencies, latency_count, sizeof *latencies, compare);
    double seconds = (double)(now - window_start) / 1e9;
    int streams = 0;
    for (int i = 0; i < pair_count && i < active; i++) streams += pairs[i]->open;
    active = 0;
    printf("result {\"seconds\": %.3f, \"streams_open\": %d, \"expected\": %.0f, "
           "\"sent\": %ld, \"received\": %ld, \"broken\": %ld, \"p50_ms\": %.2f, "
           "\"p90_ms\": %.2f, \"p99_ms\": %.2f, \"p999_ms\": %.2f, \"max_ms\": %.2f, "
           "\"generator_cpu\": %.3f}\n",
           seconds, streams, streams * seconds * RATE / MESSAGE, sent, received, broken_count,
           percentile(0.5), percentile(0.9), percentile(0.99), percentile(0.999),
           percentile(1.0), (cpu_of(&usage) - cpu_of(&usage_before)) / seconds);
    fflush(stdout);
}

static void start_run(int streams, double warm, double seconds) {
    uint64_t now = now_ns();
    active = streams;
    running = 1;
    measuring = 0;
    sent = received = broken_count = 0;
    latency_count = 0;
    window_start = now + (uint64_t)(warm * 1e9);
    window_end = window_start + (uint64_t)(seconds * 1e9);
    for (int i = 0; i < pair_count && i < streams; i++) {
        Pair *p = pairs[i];
        if (!p->open) continue;
        p->next_at = now + (uint64_t)rand() % interval_ns; /* phases spread over an interval */
        if (p->a.out_len == 0) heap_push(p);
    }
}

static void command(char *line) {
    char *word[9];
    int n = 0;
    for (char *t = strtok(line, " \n"); t && n < 9; t = strtok(NULL, " \n")) word[n++] = t;
    if (n == 0) return;
    if (!strcmp(word[0], "quit")) exit(0);
    if (!strcmp(word[0], "run") && n == 4) {
        start_run(atoi(word[1]), atof(word[2]), atof(word[3]));
        return;
    }
    if (!strcmp(word[0], "pair") && n == 8) {
        if (pair_count == pair_cap) {
            pair_cap = pair_cap ? pair_cap * 2 : 1024;
            pairs = grow(pairs, pair_cap * sizeof *pairs);
            heap = grow(heap, pair_cap * sizeof *heap);
        }
        Pair *p = calloc(1, sizeof *p);
        if (!p) exit(2);
        p->id = atol(word[1]);
        p->heap_at = -1;
        pairs[pair_count++] = p;
        if (open_conn(p, &p->a, 1, word[2], word[3], word[4], word[5]) < 0 ||
            open_conn(p, &p->b, 0, word[2], word[3], word[6], word[7]) < 0) {
            printf("failed %ld %s\n", p->id, strerror(errno));
            fflush(stdout);
            p->reported = p->broken = 1;
        }
        return;
    }
    fprintf(stderr, "unknown command: %s\n", word[0]);
}

static void on_stdin(void) {
    static char line[8192];
    static size_t len;
    ssize_t n = read(0, line + len, sizeof line - 1 - len);
    if (n <= 0) {
        if (n < 0 && errno == EAGAIN) return;
        exit(0); /* the bench is gone */
    }
    len += (size_t)n;
    char *start = line, *eol;
    while ((eol = memchr(start, '\n', len - (size_t)(start - line)))) {
        *eol = 0;
        command(start);
        start = eol + 1;
    }
    len -= (size_t)(start - line);
    memmove(line, start, len);
}

int main(void) {
    FILE *random = fopen("/dev/urandom", "rb");
    unsigned seed;
    if (!random || fread(mask_key, 4, 1, random) != 1 || fread(filler, sizeof filler, 1, random) != 1 ||
        fread(&seed, sizeof seed, 1, random) != 1)
        return 2;
    fclose(random);
    srand(seed);
    /* the filler follows the 8-byte stamp: its mask starts at key byte 8 % 4 == 0 */
    for (size_t i = 0; i < sizeof filler; i++) filler[i] ^= mask_key[i & 3];
    interval_ns = (uint64_t)(MESSAGE / RATE * 1e9);
    epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
    struct epoll_event in = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(epoll_fd, EPOLL_CTL_ADD, 0, &in);
    printf("ready\n");
    fflush(stdout);
    struct epoll_event events[512];
    for (;;) {
        uint64_t now = now_ns();
        if (running && !measuring && now >= window_start) {
            measuring = 1;
            sent = received = 0;
            latency_count = 0;
            getrusage(RUSAGE_SELF, &usage_before);
            printf("measuring\n");
            fflush(stdout);
        }
        if (measuring && now >= window_end) finish_run(now);
        while (heap_len && heap[0]->next_at <= now) send_due(heap_pop(), now);
        uint64_t wake = running ? (measuring ? window_end : window_start) : UINT64_MAX;
        if (heap_len && heap[0]->next_at < wake) wake = heap[0]->next_at;
        struct timespec timeout = {0, 0};
        int forever = wake == UINT64_MAX;
        if (!forever && wake > now) {
            timeout.tv_sec = (time_t)((wake - now) / 1000000000u);
            timeout.tv_nsec = (long)((wake - now) % 1000000000u);
        }
        int n = epoll_pwait2(epoll_fd, events, 512, forever ? NULL : &timeout, NULL);
        for (int i = 0; i < n; i++) {
            Conn *c = events[i].data.ptr;
            if (!c) {
                on_stdin();
                continue;
            }
            if (c->state == CLOSED) continue;
            Pair *p = pairs[c->pair];
            if (events[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) on_writable(p, c);
            if (c->state != CLOSED && events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
                on_readable(p, c);
        }
    }
}
