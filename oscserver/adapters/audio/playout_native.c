/*
 * The JACK process callback in C: playout.py's Playout, line for line, without Python.
 *
 * Why: a Python callback must take the GIL and create objects before it copies anything, and
 * on a busy 2-core machine that made period 64 xrun several times a minute even in a process
 * of its own (docs/performance.md). This callback takes no lock, allocates nothing, makes no
 * system call except clock_gettime (vDSO) and touches only memory that was allocated and
 * faulted in before the client was activated.
 *
 * It reads the same SharedBlock as the Python version (shared.py): an int64 header whose
 * fields each have a single writer, then a float32 (2, capacity) sample area. The producer
 * (the event loop, in another process) publishes WRITE after the samples are in place; we load
 * it with acquire and store READ with release, so the C11 memory model guarantees what x86-64's
 * TSO gives the Python side anyway.
 *
 * The arithmetic matches playout.py exactly (float32 gains computed the same way, multiplied in
 * the same order), so the two produce bit-identical output; tests/test_playout_native.py checks
 * that on the same scenarios. Change both together.
 *
 * Built by setuptools as an optional extension (pyproject.toml) and loaded with ctypes by
 * playout_native.py; it has no Python entry point and needs no JACK headers: the address of
 * libjack's jack_port_get_buffer is handed in by the loader.
 */
#define _POSIX_C_SOURCE 199309L /* clock_gettime under -std=c11 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Header fields (shared.py, class F). osc_playout_layout() lets the loader check them. */
enum {
    F_WRITE = 0, F_READ = 1, F_DISCARD = 2, F_GATE = 3, F_OPENED = 4, F_PAUSE_MARK = 5,
    F_PREROLL = 6, F_UNDERRUNS = 8, F_CALLBACKS = 10, F_PLAYING = 18, F_CYCLE_SEQ = 21,
    F_CYCLE_NS = 22, F_CYCLE_SINCE = 23, F_CYCLE_READ = 24, F_CYCLE_FRAMES = 25,
    F_CYCLE_COUNT = 26, F_MIDI_WRITE = 27, F_MIDI_READ = 28, F_MIDI_DISCARD = 29,
    F_MIDI_LATE = 30, F_MIDI_IN_READ = 7, F_MIDI_IN_WRITE = 31, F_COST = 32
};
#define MIDI_SLOTS 256
#define F_MIDI (F_COST + COST_BINS) /* MIDI_SLOTS events of two fields: frame, message */
#define MIDI_IN_SLOTS 512
#define F_MIDI_IN (F_MIDI + 2 * MIDI_SLOTS) /* MIDI_IN_SLOTS events from the MIDI in port */
#define F_MIDI_IN_LOST (F_MIDI_IN + 2 * MIDI_IN_SLOTS)
#define COST_BIN_US 20
#define COST_BINS 512
#define SHORT_FADE 96

enum { SILENT, BUFFERING, FADE_IN, PLAYING, FADE_OUT };

typedef void *(*get_buffer_fn)(void *port, uint32_t nframes);
typedef uint32_t (*since_fn)(void *client);
typedef uint32_t (*frame_time_fn)(void *client);
typedef void (*midi_clear_fn)(void *buffer);
typedef int (*midi_write_fn)(void *buffer, uint32_t time, const uint8_t *data, size_t size);
/* libjack's jack_midi_event_t (midiport.h): the frame in the cycle, the size, the bytes. */
typedef struct {
    uint32_t time;
    size_t size;
    uint8_t *buffer;
} midi_event;
typedef uint32_t (*midi_count_fn)(void *buffer);
typedef int (*midi_get_fn)(midi_event *event, void *buffer, uint32_t index);

typedef struct {
    int64_t *h;
    float *ring[2];
    int64_t capacity;
    int64_t ramp;
    float *up;
    float *down;
    float tail[SHORT_FADE];
    int mode;
    int reopened;
    int64_t pos;
    int64_t waited;
    int64_t seen_opened;
    get_buffer_fn get_buffer;
    void *ports[2];
    since_fn frames_since_cycle_start;
    void *client;
    int64_t since; /* what frames_since_cycle_start said when this cycle's callback began */
    int64_t count; /* frames of all the cycles before this one (JACK's frame time, if known) */
    frame_time_fn last_frame_time; /* libjack's jack_last_frame_time, or NULL */
    uint32_t frame_time; /* what it said last cycle */
    int64_t jack_frames; /* JACK's frame time, widened to 64 bits */
    int jack_started; /* jack_frames is known */
    void *midi_port; /* the MIDI clock's output port (NULL: none) */
    midi_clear_fn midi_clear;
    midi_write_fn midi_write;
    void *midi_in_port; /* the MIDI in port (NULL: none) */
    midi_count_fn midi_count;
    midi_get_fn midi_get;
} osc_playout;

static inline int64_t load(const int64_t *p) { return __atomic_load_n(p, __ATOMIC_RELAXED); }
static inline void store(int64_t *p, int64_t v) { __atomic_store_n(p, v, __ATOMIC_RELAXED); }

/* Writes the field indices and constants this file was compiled with, for the loader to check
 * against shared.py and playout.py. `out` must hold 32 values. */
void osc_playout_layout(int64_t *out) {
    const int64_t v[32] = {F_WRITE, F_READ, F_DISCARD, F_GATE, F_OPENED, F_PAUSE_MARK,
                           F_PREROLL, F_UNDERRUNS, F_CALLBACKS, F_PLAYING, F_COST,
                           COST_BIN_US, COST_BINS, SHORT_FADE, F_CYCLE_SEQ, F_CYCLE_NS,
                           F_CYCLE_SINCE, F_CYCLE_READ, F_CYCLE_FRAMES, F_CYCLE_COUNT,
                           F_MIDI_WRITE, F_MIDI_READ, F_MIDI_DISCARD, F_MIDI_LATE, F_MIDI,
                           MIDI_SLOTS, F_MIDI_IN_READ, F_MIDI_IN_WRITE, F_MIDI_IN,
                           MIDI_IN_SLOTS, F_MIDI_IN_LOST};
    memcpy(out, v, sizeof v);
}

/* Creates the playout state over a shared block. Call outside the real-time thread; free it
 * with osc_playout_free after the callback can no longer run. Returns NULL when out of memory. */
osc_playout *osc_playout_new(int64_t *header, float *samples, int64_t capacity, int64_t ramp) {
    osc_playout *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    if (ramp < 1) ramp = 1;
    p->up = malloc(sizeof(float) * (size_t)ramp);
    p->down = malloc(sizeof(float) * (size_t)ramp);
    if (!p->up || !p->down) {
        free(p->up);
        free(p->down);
        free(p);
        return NULL;
    }
    p->h = header;
    p->ring[0] = samples;
    p->ring[1] = samples + capacity;
    p->capacity = capacity;
    p->ramp = ramp;
    /* As numpy computes them: (i + 1) / ramp in double, rounded to float; 1 - up in float. */
    for (int64_t i = 0; i < ramp; i++) {
        p->up[i] = (float)((double)(i + 1) / (double)ramp);
        p->down[i] = 1.0f - p->up[i];
    }
    for (int i = 0; i < SHORT_FADE; i++)
        p->tail[i] = (float)((double)(SHORT_FADE - i) / (double)(SHORT_FADE + 1));
    p->mode = SILENT;
    p->seen_opened = load(&header[F_OPENED]);
    return p;
}

void osc_playout_free(osc_playout *p) {
    if (!p) return;
    free(p->up);
    free(p->down);
    free(p);
}

/* The JACK ports to fill, libjack's jack_port_get_buffer, and the client with libjack's
 * jack_frames_since_cycle_start (both may be NULL: the cycle is then taken to begin when the
 * callback does). Call before activating a client (again after every re-created client). */
void osc_playout_set_ports(osc_playout *p, void *left, void *right, void *get_buffer,
                           void *client, void *since) {
    p->ports[0] = left;
    p->ports[1] = right;
    p->get_buffer = (get_buffer_fn)get_buffer;
    p->client = client;
    p->frames_since_cycle_start = (since_fn)since;
}

/* A MIDI output port to copy the queued MIDI events into (midi_queue.py), with libjack's
 * jack_midi_clear_buffer and jack_midi_event_write; port NULL for none. And libjack's
 * jack_last_frame_time (NULL: the cycles are counted here): the events' frames are then JACK's
 * frame time, so that a cycle this client missed does not put the ones after it late. Call
 * before activating a client (again after every re-created client). */
void osc_playout_set_midi(osc_playout *p, void *port, void *clear, void *write,
                          void *last_frame_time) {
    p->midi_port = port;
    p->midi_clear = (midi_clear_fn)clear;
    p->midi_write = (midi_write_fn)write;
    p->last_frame_time = (frame_time_fn)last_frame_time;
    p->jack_started = 0; /* (a new client: its server's frame time) */
}

/* A MIDI input port whose events are copied into the MIDI in ring (midi_in_queue.py), with
 * libjack's jack_midi_get_event_count and jack_midi_event_get; port NULL for none. Call before
 * activating a client (again after every re-created client). */
void osc_playout_set_midi_in(osc_playout *p, void *port, void *count, void *get) {
    p->midi_in_port = port;
    p->midi_count = (midi_count_fn)count;
    p->midi_get = (midi_get_fn)get;
}

/* --- the ring, consumer side (ring.py) --------------------------------------------------- */

static int64_t available(osc_playout *p) {
    int64_t r = load(&p->h[F_READ]), d = load(&p->h[F_DISCARD]);
    return __atomic_load_n(&p->h[F_WRITE], __ATOMIC_ACQUIRE) - (d > r ? d : r);
}

static int64_t read_into(osc_playout *p, float *left, float *right, int64_t frames) {
    int64_t r = load(&p->h[F_READ]), d = load(&p->h[F_DISCARD]);
    if (d > r) r = d;
    int64_t n = __atomic_load_n(&p->h[F_WRITE], __ATOMIC_ACQUIRE) - r;
    if (n > frames) n = frames;
    if (n < 0) n = 0;
    int64_t start = r % p->capacity;
    int64_t first = p->capacity - start;
    if (first > n) first = n;
    memcpy(left, p->ring[0] + start, sizeof(float) * (size_t)first);
    memcpy(right, p->ring[1] + start, sizeof(float) * (size_t)first);
    if (n > first) {
        memcpy(left + first, p->ring[0], sizeof(float) * (size_t)(n - first));
        memcpy(right + first, p->ring[1], sizeof(float) * (size_t)(n - first));
    }
    __atomic_store_n(&p->h[F_READ], r + n, __ATOMIC_RELEASE);
    return n;
}

static void drop_until(osc_playout *p, int64_t position) {
    if (load(&p->h[F_READ]) < position) __atomic_store_n(&p->h[F_READ], position, __ATOMIC_RELEASE);
}

static void zero(float *left, float *right, int64_t from, int64_t to) {
    if (to > from) {
        memset(left + from, 0, sizeof(float) * (size_t)(to - from));
        memset(right + from, 0, sizeof(float) * (size_t)(to - from));
    }
}

static void scale(float *left, float *right, const float *gain, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        left[i] *= gain[i];
        right[i] *= gain[i];
    }
}

/* --- the states (playout.py) -------------------------------------------------------------- */

static int fade_out(osc_playout *p, float *left, float *right, int64_t frames) {
    int64_t got = read_into(p, left, right, frames);
    int64_t n = p->ramp - p->pos;
    if (n > got) n = got;
    scale(left, right, p->down + p->pos, n);
    zero(left, right, n, frames);
    p->pos += n;
    if (p->pos < p->ramp && got == frames) return FADE_OUT;
    drop_until(p, load(&p->h[F_PAUSE_MARK]));
    if (load(&p->h[F_GATE]) && p->reopened) {
        p->reopened = 0;
        p->waited = 0;
        return BUFFERING;
    }
    return SILENT;
}

static int play(osc_playout *p, float *left, float *right, int64_t frames, int mode) {
    int64_t remaining = available(p);
    /* Read no more than was seen: the fade below is computed from `remaining`. */
    int64_t got = read_into(p, left, right, remaining < frames ? remaining : frames);
    if (mode == FADE_IN) {
        int64_t n = p->ramp - p->pos;
        if (n > got) n = got;
        scale(left, right, p->up + p->pos, n);
        p->pos += n;
        if (p->pos >= p->ramp) mode = PLAYING;
    }
    if (remaining < frames + SHORT_FADE) {
        /* The ring runs dry within SHORT_FADE frames: frame i has remaining - i frames left. */
        int64_t start = remaining - SHORT_FADE > 0 ? remaining - SHORT_FADE : 0;
        int64_t j = SHORT_FADE - (remaining - start);
        if (got > start) scale(left + start, right + start, p->tail + j, got - start);
    }
    if (got == frames) return mode;
    /* Underrun: silence after the faded end, and pre-roll again. */
    zero(left, right, got, frames);
    store(&p->h[F_UNDERRUNS], load(&p->h[F_UNDERRUNS]) + 1);
    p->waited = 0;
    return BUFFERING;
}

static int buffer(osc_playout *p, float *left, float *right, int64_t frames) {
    if (available(p) == 0) {
        p->waited = 0;
    } else if (p->waited >= load(&p->h[F_PREROLL])) {
        p->pos = 0;
        return play(p, left, right, frames, FADE_IN);
    } else {
        p->waited += frames;
    }
    zero(left, right, 0, frames);
    return BUFFERING;
}

static int64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* Fills one period of output. Real-time safe; call only from the audio callback. */
void osc_playout_process(osc_playout *p, float *left, float *right, int64_t frames) {
    int64_t t0 = now_ns();
    int64_t *h = p->h;
    int64_t opened = load(&h[F_OPENED]);
    if (opened != p->seen_opened) {
        p->seen_opened = opened;
        p->reopened = 1;
    }
    int64_t gate = load(&h[F_GATE]);
    int mode = p->mode;
    if (!gate && (mode == FADE_IN || mode == PLAYING)) {
        /* Continue from the current gain: a fade-in cut short fades out from where it was. */
        p->pos = mode == FADE_IN ? p->ramp - p->pos : 0;
        mode = FADE_OUT;
    } else if (!gate && mode == BUFFERING) {
        drop_until(p, load(&h[F_PAUSE_MARK]));
        mode = SILENT;
    }
    if (mode == SILENT && gate && p->reopened) {
        p->reopened = 0;
        p->waited = 0;
        mode = BUFFERING;
    }
    if (mode == FADE_OUT)
        mode = fade_out(p, left, right, frames);
    else if (mode == SILENT)
        zero(left, right, 0, frames);
    else if (mode == BUFFERING)
        mode = buffer(p, left, right, frames);
    else
        mode = play(p, left, right, frames, mode);
    p->mode = mode;
    /* When this cycle began and where the ring's reader stands after it, for the event loop to
     * tell when a frame it writes will leave the ports (shared.py, RingSink.heard_at). Only
     * copies, under a sequence count: odd while the fields change (a seqlock). */
    int64_t seq = load(&h[F_CYCLE_SEQ]);
    store(&h[F_CYCLE_SEQ], seq + 1);
    __atomic_thread_fence(__ATOMIC_RELEASE);
    store(&h[F_CYCLE_NS], t0);
    store(&h[F_CYCLE_SINCE], p->since);
    store(&h[F_CYCLE_READ], load(&h[F_READ]));
    store(&h[F_CYCLE_FRAMES], frames);
    store(&h[F_CYCLE_COUNT], p->count);
    __atomic_store_n(&h[F_CYCLE_SEQ], seq + 2, __ATOMIC_RELEASE);
    p->count += frames;
    store(&h[F_PLAYING], mode == FADE_IN || mode == PLAYING || mode == FADE_OUT);
    store(&h[F_CALLBACKS], load(&h[F_CALLBACKS]) + 1);
    int64_t bin = (now_ns() - t0) / 1000 / COST_BIN_US;
    if (bin >= COST_BINS) bin = COST_BINS - 1;
    store(&h[F_COST + bin], load(&h[F_COST + bin]) + 1);
}

/* Copies the queued MIDI events due in this cycle (their frame, counted as F_CYCLE_COUNT
 * counts, before the cycle's end) into the MIDI port's buffer, in order; one already due
 * before the cycle goes out at its first frame, and is counted in F_MIDI_LATE. Nothing is
 * computed: the producer placed every event (midi_queue.py). Real-time safe. */
static void copy_midi(osc_playout *p, uint32_t nframes) {
    void *buffer = p->get_buffer(p->midi_port, nframes);
    p->midi_clear(buffer);
    int64_t *h = p->h;
    int64_t r = load(&h[F_MIDI_READ]), d = load(&h[F_MIDI_DISCARD]);
    if (d > r) r = d;
    int64_t w = __atomic_load_n(&h[F_MIDI_WRITE], __ATOMIC_ACQUIRE);
    int64_t end = p->count + (int64_t)nframes;
    for (; r < w; r++) {
        const int64_t *event = &h[F_MIDI + 2 * (r % MIDI_SLOTS)];
        if (event[0] >= end) break; /* due in a later cycle */
        int64_t at = event[0] - p->count;
        if (at < 0) {
            at = 0;
            store(&h[F_MIDI_LATE], load(&h[F_MIDI_LATE]) + 1);
        }
        /* The message: its length in the top byte, then up to three bytes, first lowest. */
        int64_t packed = event[1];
        uint8_t data[3] = {(uint8_t)packed, (uint8_t)(packed >> 8), (uint8_t)(packed >> 16)};
        size_t size = (size_t)((packed >> 56) & 3);
        if (size && p->midi_write(buffer, (uint32_t)at, data, size)) break; /* buffer full */
    }
    __atomic_store_n(&h[F_MIDI_READ], r, __ATOMIC_RELEASE);
}

/* Copies this cycle's events from the MIDI in port into the MIDI in ring, in order, each with
 * its frame (this cycle's first, counted as F_CYCLE_COUNT counts, plus its offset) and its 1 to
 * 3 bytes packed as midi_queue.py packs them; longer messages (SysEx) are not for us. When the
 * reader has fallen MIDI_IN_SLOTS behind, an event is dropped and counted. Only copies; real-
 * time safe. */
static void copy_midi_in(osc_playout *p, uint32_t nframes) {
    void *buffer = p->get_buffer(p->midi_in_port, nframes);
    uint32_t n = p->midi_count(buffer);
    int64_t *h = p->h;
    int64_t w = load(&h[F_MIDI_IN_WRITE]);
    int64_t r = __atomic_load_n(&h[F_MIDI_IN_READ], __ATOMIC_ACQUIRE);
    for (uint32_t i = 0; i < n; i++) {
        midi_event event;
        if (p->midi_get(&event, buffer, i) || event.size < 1 || event.size > 3) continue;
        if (w - r >= MIDI_IN_SLOTS) {
            store(&h[F_MIDI_IN_LOST], load(&h[F_MIDI_IN_LOST]) + 1);
            continue;
        }
        int64_t packed = (int64_t)event.size << 56;
        for (size_t j = 0; j < event.size; j++) packed |= (int64_t)event.buffer[j] << (8 * j);
        int64_t *slot = &h[F_MIDI_IN + 2 * (w % MIDI_IN_SLOTS)];
        store(&slot[0], p->count + (int64_t)event.time);
        store(&slot[1], packed);
        w++;
    }
    __atomic_store_n(&h[F_MIDI_IN_WRITE], w, __ATOMIC_RELEASE); /* (after the events) */
}

/* A JackProcessCallback: `arg` is the osc_playout. */
int osc_playout_jack_process(uint32_t nframes, void *arg) {
    osc_playout *p = arg;
    /* How far into the cycle this callback begins (JACK's own reckoning, as the recorder in
     * tests/jack_recorder.py and any client would take it); read before anything else. */
    p->since = p->frames_since_cycle_start ? p->frames_since_cycle_start(p->client) : 0;
    if (p->last_frame_time) {
        /* JACK's frame time, widened: it is 32 bits and wraps after a day at 48 kHz. */
        uint32_t now = p->last_frame_time(p->client);
        p->jack_frames = p->jack_started ? p->jack_frames + (uint32_t)(now - p->frame_time) : now;
        p->jack_started = 1;
        p->frame_time = now;
        p->count = p->jack_frames; /* (what process() adds to it is replaced next cycle) */
    }
    float *left = p->get_buffer(p->ports[0], nframes);
    float *right = p->get_buffer(p->ports[1], nframes);
    if (p->midi_port) copy_midi(p, nframes); /* (before the cycle is counted) */
    if (p->midi_in_port) copy_midi_in(p, nframes);
    osc_playout_process(p, left, right, (int64_t)nframes);
    return 0;
}
