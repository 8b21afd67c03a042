#include "common.h"

#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

/* A small fork-join pool: the caller publishes a job with a generation number, workers and the caller claim task
 * indices from an atomic counter, and the caller waits until every worker has reported the generation done. */
struct psk_pool {
    int n_threads;
    pthread_t *threads;
    pthread_mutex_t mu;
    pthread_cond_t start_cv, done_cv;
    unsigned long generation;
    int n_done;
    bool stop;
    psk_task_fn fn;
    void *arg;
    int n_tasks;
    atomic_int next_task;
};

typedef struct worker_arg {
    psk_pool *pool;
    int index;
} worker_arg;

static void run_tasks(psk_pool *p, int thread) {
    for (;;) {
        int t = atomic_fetch_add(&p->next_task, 1);
        if (t >= p->n_tasks) break;
        p->fn(p->arg, t, thread);
    }
}

static void *worker_main(void *v) {
    worker_arg *wa = v;
    psk_pool *p = wa->pool;
    int index = wa->index;
    psk_free(wa);
    unsigned long seen = 0;
    for (;;) {
        pthread_mutex_lock(&p->mu);
        while (!p->stop && p->generation == seen) pthread_cond_wait(&p->start_cv, &p->mu);
        if (p->stop) {
            pthread_mutex_unlock(&p->mu);
            return NULL;
        }
        seen = p->generation;
        pthread_mutex_unlock(&p->mu);
        run_tasks(p, index);
        pthread_mutex_lock(&p->mu);
        if (++p->n_done == p->n_threads - 1) pthread_cond_signal(&p->done_cv);
        pthread_mutex_unlock(&p->mu);
    }
}

int psk_cpu_count(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

int psk_pool_new(int n_threads, psk_pool **out) {
    if (n_threads <= 0) n_threads = psk_cpu_count();
    psk_pool *p = psk_calloc(1, sizeof *p);
    if (!p) return PSK_ERR_NOMEM;
    p->n_threads = n_threads;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->start_cv, NULL);
    pthread_cond_init(&p->done_cv, NULL);
    if (n_threads > 1) {
        p->threads = psk_calloc((size_t)n_threads - 1, sizeof(pthread_t));
        if (!p->threads) {
            psk_pool_free(p);
            return PSK_ERR_NOMEM;
        }
        for (int i = 0; i < n_threads - 1; i++) {
            worker_arg *wa = psk_malloc(sizeof *wa);
            if (!wa) {
                p->n_threads = i + 1;
                psk_pool_free(p);
                return PSK_ERR_NOMEM;
            }
            wa->pool = p;
            wa->index = i + 1;
            if (pthread_create(&p->threads[i], NULL, worker_main, wa) != 0) {
                psk_free(wa);
                p->n_threads = i + 1;
                psk_pool_free(p);
                return PSK_ERR_NOMEM;
            }
        }
    }
    *out = p;
    return PSK_OK;
}

void psk_pool_free(psk_pool *p) {
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_broadcast(&p->start_cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; p->threads && i < p->n_threads - 1; i++) pthread_join(p->threads[i], NULL);
    psk_free(p->threads);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->start_cv);
    pthread_cond_destroy(&p->done_cv);
    psk_free(p);
}

int psk_pool_threads(const psk_pool *p) {
    return p ? p->n_threads : 1;
}

void psk_pool_run(psk_pool *p, int n_tasks, psk_task_fn fn, void *arg) {
    if (n_tasks <= 0) return;
    if (!p || p->n_threads == 1 || n_tasks == 1) {
        for (int t = 0; t < n_tasks; t++) fn(arg, t, 0);
        return;
    }
    pthread_mutex_lock(&p->mu);
    p->fn = fn;
    p->arg = arg;
    p->n_tasks = n_tasks;
    atomic_store(&p->next_task, 0);
    p->n_done = 0;
    p->generation++;
    pthread_cond_broadcast(&p->start_cv);
    pthread_mutex_unlock(&p->mu);
    run_tasks(p, 0);
    pthread_mutex_lock(&p->mu);
    while (p->n_done < p->n_threads - 1) pthread_cond_wait(&p->done_cv, &p->mu);
    pthread_mutex_unlock(&p->mu);
}
