#pragma once
/* The threads that share one kernel call; private to this target. */

/* Runs task(context, chunk) for every chunk in 0 ..< chunks, on the calling thread and, when the pool has
   workers and no other call is using them, on those too; returns once every chunk has run. Chunks are
   claimed in any order, so a chunk must not depend on another. */
typedef void (*pool_task)(void *context, int chunk);
void pool_run(int chunks, pool_task task, void *context);
