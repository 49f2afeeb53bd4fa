/*
 * oscserver as JACK transport's timebase master (--jack-timebase): the bars, beats and tempo that
 * other JACK clients (Ardour, Hydrogen, a drum machine) follow, from oscserver's own tempo.
 *
 * JACK calls a timebase master's callback in its process thread, every cycle while the transport
 * rolls and at each relocation, to fill in the position's bar, beat, tick and tempo (jack/
 * transport.h, JackTimebaseCallback). This one takes no lock, allocates nothing, makes no system
 * call and touches only its own small struct and the position JACK hands it.
 *
 * The tempo map: from frame `anchor_frame` on, `bpm` beats a minute, starting at beat
 * `anchor_beat`, four beats to the bar. A new tempo (set from Python with osc_timebase_set_bpm,
 * an atomic store) is taken at the next cycle and anchored at its frame, so the beats stay
 * continuous, as a DAW's tempo map keeps them; a relocation to before the anchor starts the map
 * afresh (bar 1, beat 1 at frame 0, at the tempo then).
 *
 * jack_position_t is a packed struct whose layout changed across JACK versions: no JACK headers
 * here. The loader (timebase.py) hands in the byte offsets of its fields, taken from the
 * definition JACK-Client itself uses (cffi), and the value of JackPositionBBT.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum {
    O_FRAME, O_FRAME_RATE, O_VALID, O_BAR, O_BEAT, O_TICK, O_BAR_START_TICK, O_BEATS_PER_BAR,
    O_BEAT_TYPE, O_TICKS_PER_BEAT, O_BEATS_PER_MINUTE, O_COUNT
};

#define BEATS_PER_BAR 4
#define TICKS_PER_BEAT 1920.0

typedef struct {
    int32_t off[O_COUNT];
    int32_t bbt;        /* JackPositionBBT */
    int64_t wanted;     /* micro-bpm: written by Python (atomic) */
    int64_t calls;      /* callbacks made: read by Python (atomic) */
    double bpm;
    double anchor_beat;
    uint32_t anchor_frame;
    int anchored;
} osc_timebase;

/* Creates the timebase state: `offsets` holds O_COUNT byte offsets into jack_position_t, `bbt`
 * is JackPositionBBT. Call outside the real-time thread; free with osc_timebase_free once the
 * callback can no longer run (the client released the timebase or was closed). NULL: no memory. */
osc_timebase *osc_timebase_new(const int32_t *offsets, int32_t bbt, double bpm) {
    osc_timebase *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    memcpy(t->off, offsets, sizeof t->off);
    t->bbt = bbt;
    t->wanted = (int64_t)(bpm * 1e6 + 0.5);
    return t;
}

void osc_timebase_free(osc_timebase *t) { free(t); }

/* The tempo from the next cycle on (any thread). */
void osc_timebase_set_bpm(osc_timebase *t, double bpm) {
    __atomic_store_n(&t->wanted, (int64_t)(bpm * 1e6 + 0.5), __ATOMIC_RELAXED);
}

/* Callbacks made so far (any thread). */
int64_t osc_timebase_calls(osc_timebase *t) { return __atomic_load_n(&t->calls, __ATOMIC_RELAXED); }

static double beat_at(const osc_timebase *t, uint32_t frame, uint32_t rate) {
    /* Unsigned difference: correct across the 32-bit frame counter's wrap. */
    return t->anchor_beat + (double)(uint32_t)(frame - t->anchor_frame) * t->bpm / (60.0 * rate);
}

static uint32_t get_u32(const osc_timebase *t, const void *pos, int field) {
    uint32_t v;
    memcpy(&v, (const char *)pos + t->off[field], sizeof v);
    return v;
}

static void put_i32(const osc_timebase *t, void *pos, int field, int32_t v) {
    memcpy((char *)pos + t->off[field], &v, sizeof v);
}

static void put_f32(const osc_timebase *t, void *pos, int field, float v) {
    memcpy((char *)pos + t->off[field], &v, sizeof v);
}

static void put_f64(const osc_timebase *t, void *pos, int field, double v) {
    memcpy((char *)pos + t->off[field], &v, sizeof v);
}

/* Fills the bar, beat, tick and tempo of `pos` (a jack_position_t) for its frame. */
void osc_timebase_position(osc_timebase *t, int new_pos, void *pos) {
    uint32_t frame = get_u32(t, pos, O_FRAME);
    uint32_t rate = get_u32(t, pos, O_FRAME_RATE);
    double wanted = (double)__atomic_load_n(&t->wanted, __ATOMIC_RELAXED) / 1e6;
    if (rate == 0 || wanted <= 0) return;
    if (!t->anchored || (new_pos && (int32_t)(frame - t->anchor_frame) < 0)) {
        t->anchored = 1;
        t->anchor_frame = 0;
        t->anchor_beat = 0.0;
        t->bpm = wanted;
    } else if (wanted != t->bpm) {
        t->anchor_beat = beat_at(t, frame, rate);
        t->anchor_frame = frame;
        t->bpm = wanted;
    }
    double beats = beat_at(t, frame, rate);
    int64_t whole = (int64_t)beats;
    int32_t bar = (int32_t)(whole / BEATS_PER_BAR);
    put_i32(t, pos, O_BAR, bar + 1);
    put_i32(t, pos, O_BEAT, (int32_t)(whole % BEATS_PER_BAR) + 1);
    put_i32(t, pos, O_TICK, (int32_t)((beats - (double)whole) * TICKS_PER_BEAT));
    put_f64(t, pos, O_BAR_START_TICK, (double)bar * BEATS_PER_BAR * TICKS_PER_BEAT);
    put_f32(t, pos, O_BEATS_PER_BAR, (float)BEATS_PER_BAR);
    put_f32(t, pos, O_BEAT_TYPE, 4.0f);
    put_f64(t, pos, O_TICKS_PER_BEAT, TICKS_PER_BEAT);
    put_f64(t, pos, O_BEATS_PER_MINUTE, t->bpm);
    put_i32(t, pos, O_VALID, (int32_t)get_u32(t, pos, O_VALID) | t->bbt);
    __atomic_store_n(&t->calls, t->calls + 1, __ATOMIC_RELAXED);
}

/* A JackTimebaseCallback: `arg` is the osc_timebase. */
void osc_timebase_jack(int state, uint32_t nframes, void *pos, int new_pos, void *arg) {
    (void)state;
    (void)nframes;
    osc_timebase_position(arg, new_pos, pos);
}
