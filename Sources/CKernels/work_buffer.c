/* Frees a thread's work buffers when the thread exits. */
#include <pthread.h>

#include "kernel_support.h"

enum { MAX_THREAD_BUFFERS = 16 };

static _Thread_local work_buffer *thread_buffers[MAX_THREAD_BUFFERS];
static _Thread_local int thread_buffer_count;
static pthread_key_t thread_exit_key;
static pthread_once_t thread_exit_key_once = PTHREAD_ONCE_INIT;

static void free_thread_buffers(void *unused) {
    (void)unused;
    for (int i = 0; i < thread_buffer_count; i++) {
        free(thread_buffers[i]->data);
        thread_buffers[i]->data = NULL;
        thread_buffers[i]->capacity = 0;
    }
    thread_buffer_count = 0;
}

static void make_thread_exit_key(void) {
    pthread_key_create(&thread_exit_key, free_thread_buffers);
}

void work_buffer_register(work_buffer *buffer) {
    pthread_once(&thread_exit_key_once, make_thread_exit_key);
    if (thread_buffer_count < MAX_THREAD_BUFFERS) thread_buffers[thread_buffer_count++] = buffer;
    pthread_setspecific(thread_exit_key, (void *)1);
}
