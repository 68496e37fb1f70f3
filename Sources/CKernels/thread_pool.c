/* The worker threads that share one kernel call (pg_set_threads, pg_parallel_for). */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include "packed_gemm.h"

#if defined(__x86_64__)
#include <immintrin.h>
#define CPU_RELAX() _mm_pause()
#else
#define CPU_RELAX() ((void)0)
#endif

enum { MAX_THREADS = 64, MAX_CHUNKS = 0xffff };

/* How long an idle worker keeps polling before it sleeps: long enough to span the gaps between the
   kernel calls of one model run, short enough not to hold a core between requests. */
static const int64_t SPIN_NANOSECONDS = 200000;

/* One word, so a worker claims a chunk of the job it saw or of none: generation (32 bits), chunk count
   (16) and next unclaimed chunk (16). */
static _Atomic uint64_t state;
static atomic_int finished;
static atomic_int sleepers;
static atomic_int wanted = 1;
static _Atomic uint64_t worker_chunks;
static atomic_flag in_use = ATOMIC_FLAG_INIT;
static void (*job_task)(void *context, int chunk);
static void *job_context;

static pthread_mutex_t sleep_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static pthread_mutex_t start_lock = PTHREAD_MUTEX_INITIALIZER;
static int started;

static inline uint32_t generation_of(uint64_t word) { return (uint32_t)(word >> 32); }
static inline int count_of(uint64_t word) { return (int)((word >> 16) & 0xffff); }
static inline int next_of(uint64_t word) { return (int)(word & 0xffff); }

static int64_t now_nanoseconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* Claims and runs chunks of generation `generation` until none is left. */
static void work(uint32_t generation, int on_worker) {
    uint64_t word = atomic_load(&state);
    for (;;) {
        if (generation_of(word) != generation || next_of(word) >= count_of(word)) return;
        if (!atomic_compare_exchange_weak(&state, &word, word + 1)) continue;
        job_task(job_context, next_of(word));
        if (on_worker) atomic_fetch_add_explicit(&worker_chunks, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&finished, 1, memory_order_release);
        word = atomic_load(&state);
    }
}

static void *worker_main(void *argument) {
    int index = (int)(intptr_t)argument;
    uint32_t seen = generation_of(atomic_load(&state));
    for (;;) {
        int64_t deadline = now_nanoseconds() + SPIN_NANOSECONDS;
        uint64_t word;
        for (int polls = 0;; polls++) {
            word = atomic_load(&state);
            if (generation_of(word) != seen) break;
            CPU_RELAX();
            if ((polls & 255) == 255 && now_nanoseconds() > deadline) {
                pthread_mutex_lock(&sleep_lock);
                atomic_fetch_add(&sleepers, 1);
                while (generation_of(atomic_load(&state)) == seen) pthread_cond_wait(&wake, &sleep_lock);
                atomic_fetch_sub(&sleepers, 1);
                pthread_mutex_unlock(&sleep_lock);
                deadline = now_nanoseconds() + SPIN_NANOSECONDS;
            }
        }
        seen = generation_of(word);
        if (index < atomic_load_explicit(&wanted, memory_order_relaxed) - 1) work(seen, 1);
    }
    return NULL;
}

void pg_set_threads(int threads) {
    if (threads < 1) threads = 1;
    if (threads > MAX_THREADS) threads = MAX_THREADS;
    pthread_mutex_lock(&start_lock);
    while (started < threads - 1) {
        pthread_t thread;
        pthread_attr_t attributes;
        pthread_attr_init(&attributes);
        pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
        int failed = pthread_create(&thread, &attributes, worker_main, (void *)(intptr_t)started);
        pthread_attr_destroy(&attributes);
        if (failed) break;
        started++;
    }
    atomic_store(&wanted, started + 1 < threads ? started + 1 : threads);
    pthread_mutex_unlock(&start_lock);
}

int pg_threads(void) { return atomic_load_explicit(&wanted, memory_order_relaxed); }

uint64_t pg_worker_chunks(void) { return atomic_load_explicit(&worker_chunks, memory_order_relaxed); }

void pg_parallel_for(int chunks, void (*task)(void *context, int chunk), void *context) {
    if (chunks <= 1 || chunks > MAX_CHUNKS || pg_threads() <= 1 || atomic_flag_test_and_set(&in_use)) {
        for (int chunk = 0; chunk < chunks; chunk++) task(context, chunk);
        return;
    }
    job_task = task;
    job_context = context;
    atomic_store(&finished, 0);
    uint32_t generation = generation_of(atomic_load(&state)) + 1;
    atomic_store(&state, (uint64_t)generation << 32 | (uint64_t)chunks << 16);
    if (atomic_load(&sleepers) > 0) {
        pthread_mutex_lock(&sleep_lock);
        pthread_cond_broadcast(&wake);
        pthread_mutex_unlock(&sleep_lock);
    }
    work(generation, 0);
    for (int polls = 0; atomic_load_explicit(&finished, memory_order_acquire) < chunks; polls++) {
        if (polls < 4096) {
            CPU_RELAX();
        } else {
            sched_yield();
        }
    }
    atomic_flag_clear(&in_use);
}
