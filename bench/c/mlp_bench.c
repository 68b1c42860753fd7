/*
 * The floor: the benchmark MLP through the TensorFlow C API with nothing in between.
 *
 *   mlp_bench GRAPH.pb [caller]
 *
 * A measurement server driven by bench/run.js (same protocol as bench/node/mlp_bench.js and
 * bench/py/mlp_bench.py): loads the graph, prints one JSON "ready" line, then for each command line
 *   ID SECONDS WARMUP_SECONDS
 * runs measurement ID (after WARMUP_SECONDS of unrecorded runs) for SECONDS and prints one JSON line. EOF or
 * "quit" ends it. run.js interleaves short slices of the three processes so that all see the same machine.
 *
 * Protocol shared by all three:
 *   - session with default options (no ConfigProto: TF's default inter/intra-op pools),
 *   - the input tensor is created once and fed again on every run; each run's output tensor is deleted,
 *   - sequential rows report every run's latency (µs); concurrent rows report runs and elapsed time,
 *   - cpu_s: CPU time of the whole process (all threads) during the slice.
 * With "caller", every run passes RunOptions{inter_op_thread_pool: -1}: TF executes the graph's ops on the
 * calling thread instead of handing them to its inter-op pool (bench/run.js: BENCH_CALLER_THREAD=1).
 *
 * IDs: b1 (batch 1, sequential), b1.handoff (batch 1, each run handed to a worker thread while the caller
 * waits: the cost of going off-thread, as an async binding must), b1.gap10 (batch 1, the caller busy for
 * 10 µs between runs, as any binding is; latency of TF_SessionRun alone: shows TF's inter-op pool threads
 * going to sleep between runs), b256c1 (batch 256, sequential), b256c2 (batch 256, 2 pthreads running back
 * to back).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "tensorflow/c/c_api.h"

#include "mlp_input.h"

static TF_Session* session;
static TF_Output in_x, out_logits;
static TF_Buffer* run_options; /* NULL, or a serialized RunOptions for every run */
static TF_Tensor *input1, *input256, *input256b;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* CPU time of the whole process (all threads), seconds. */
static double cpu_s(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec + ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) * 1e-6;
}

static void check(TF_Status* s, const char* what) {
  if (TF_GetCode(s) != TF_OK) {
    fprintf(stderr, "%s: %s\n", what, TF_Message(s));
    exit(1);
  }
}

static void run_once(TF_Tensor* input, TF_Status* s, double* checksum) {
  TF_Tensor* out = NULL;
  TF_SessionRun(session, run_options, &in_x, &input, 1, &out_logits, &out, 1, NULL, 0, NULL, s);
  check(s, "TF_SessionRun");
  if (checksum) {
    const float* p = (const float*)TF_TensorData(out);
    size_t n = TF_TensorByteSize(out) / sizeof(float);
    double sum = 0;
    for (size_t i = 0; i < n; i++) sum += p[i];
    *checksum = sum;
  }
  TF_DeleteTensor(out);
}

/* ------------------------------------------------------------------ hand-off worker (b1.handoff) */

static struct {
  pthread_mutex_t mu;
  pthread_cond_t go, done;
  int pending, finished;
} handoff = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0};

static void* handoff_main(void* arg) {
  (void)arg;
  TF_Status* s = TF_NewStatus();
  pthread_mutex_lock(&handoff.mu);
  for (;;) {
    while (!handoff.pending) pthread_cond_wait(&handoff.go, &handoff.mu);
    handoff.pending = 0;
    pthread_mutex_unlock(&handoff.mu);
    run_once(input1, s, NULL);
    pthread_mutex_lock(&handoff.mu);
    handoff.finished = 1;
    pthread_cond_signal(&handoff.done);
  }
  return NULL;
}

static void handoff_once(void) {
  pthread_mutex_lock(&handoff.mu);
  handoff.pending = 1;
  handoff.finished = 0;
  pthread_cond_signal(&handoff.go);
  while (!handoff.finished) pthread_cond_wait(&handoff.done, &handoff.mu);
  pthread_mutex_unlock(&handoff.mu);
}

/* ------------------------------------------------------------------ measurements */

static void spin_us(double us) {
  double end = now_s() + us * 1e-6;
  while (now_s() < end) {
  }
}

/* Sequential runs for `seconds`, each timed; prints the JSON reply. handed_off: through the hand-off worker;
 * gap_us > 0: the caller spins that long before each run, and only TF_SessionRun itself is timed. */
static void sequential(const char* id, TF_Tensor* input, int handed_off, double gap_us, double seconds, double warmup) {
  TF_Status* s = TF_NewStatus();
  double warm_end = now_s() + warmup;
  while (now_s() < warm_end) {
    if (handed_off) handoff_once(); else run_once(input, s, NULL);
  }
  size_t cap = 1 << 14, n = 0;
  double* lat = malloc(cap * sizeof(double));
  double cpu0 = cpu_s(), start = now_s(), end = start + seconds, t0 = start, t1;
  do {
    if (gap_us > 0) {
      spin_us(gap_us);
      t0 = now_s();
    }
    if (handed_off) handoff_once(); else run_once(input, s, NULL);
    t1 = now_s();
    if (n == cap) lat = realloc(lat, (cap *= 2) * sizeof(double));
    lat[n++] = (t1 - t0) * 1e6;
    t0 = t1;
  } while (t1 < end);
  double cpu = cpu_s() - cpu0;
  printf("{\"id\": \"%s\", \"n\": %zu, \"elapsed_s\": %.6f, \"cpu_s\": %.6f, \"lat\": [", id, n, t1 - start, cpu);
  for (size_t i = 0; i < n; i++) printf(i ? ",%.2f" : "%.2f", lat[i]);
  printf("]}\n");
  fflush(stdout);
  free(lat);
  TF_DeleteStatus(s);
}

struct worker {
  pthread_t thread;
  pthread_barrier_t* barrier;
  TF_Tensor* input;
  double end;
  size_t runs;
};

static void* worker_main(void* arg) {
  struct worker* w = arg;
  TF_Status* s = TF_NewStatus();
  pthread_barrier_wait(w->barrier);
  while (now_s() < w->end) {
    run_once(w->input, s, NULL);
    w->runs++;
  }
  TF_DeleteStatus(s);
  return NULL;
}

/* Two threads, each with its own input tensor, running back to back for `seconds`. */
static void concurrent2(const char* id, double seconds, double warmup) {
  struct worker w[2] = {{.input = input256}, {.input = input256b}};
  pthread_barrier_t barrier;
  pthread_barrier_init(&barrier, NULL, 3);
  TF_Status* s = TF_NewStatus();
  double warm_end = now_s() + warmup;
  while (now_s() < warm_end) run_once(input256, s, NULL);
  double cpu0 = cpu_s(), start = now_s();
  for (int i = 0; i < 2; i++) {
    w[i].barrier = &barrier;
    w[i].end = start + seconds;
    pthread_create(&w[i].thread, NULL, worker_main, &w[i]);
  }
  pthread_barrier_wait(&barrier);
  size_t total = 0;
  for (int i = 0; i < 2; i++) {
    pthread_join(w[i].thread, NULL);
    total += w[i].runs;
  }
  double elapsed = now_s() - start, cpu = cpu_s() - cpu0;
  printf("{\"id\": \"%s\", \"n\": %zu, \"elapsed_s\": %.6f, \"cpu_s\": %.6f}\n", id, total, elapsed, cpu);
  fflush(stdout);
  pthread_barrier_destroy(&barrier);
  TF_DeleteStatus(s);
}

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s GRAPH.pb [caller]   (then commands on stdin: ID SECONDS WARMUP)\n", argv[0]);
    return 2;
  }
  int caller = argc > 2 && strcmp(argv[2], "caller") == 0;
  /* RunOptions field 3 (inter_op_thread_pool) = -1, as a 10-byte varint. */
  static const unsigned char caller_thread[] = {0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
  if (caller) run_options = TF_NewBufferFromString(caller_thread, sizeof caller_thread);

  FILE* f = fopen(argv[1], "rb");
  if (!f) { perror(argv[1]); return 1; }
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  fseek(f, 0, SEEK_SET);
  char* bytes = malloc((size_t)size);
  if (fread(bytes, 1, (size_t)size, f) != (size_t)size) { perror("read"); return 1; }
  fclose(f);

  TF_Status* s = TF_NewStatus();
  TF_Graph* graph = TF_NewGraph();
  TF_Buffer* def = TF_NewBufferFromString(bytes, (size_t)size);
  TF_ImportGraphDefOptions* io = TF_NewImportGraphDefOptions();
  TF_GraphImportGraphDef(graph, def, io, s);
  check(s, "TF_GraphImportGraphDef");
  TF_DeleteImportGraphDefOptions(io);
  TF_DeleteBuffer(def);
  free(bytes);
  in_x = (TF_Output){TF_GraphOperationByName(graph, "x"), 0};
  out_logits = (TF_Output){TF_GraphOperationByName(graph, "logits"), 0};
  if (!in_x.oper || !out_logits.oper) { fprintf(stderr, "graph lacks x or logits\n"); return 1; }

  TF_SessionOptions* so = TF_NewSessionOptions(); /* default ConfigProto: default thread pools */
  session = TF_NewSession(graph, so, s);
  check(s, "TF_NewSession");
  TF_DeleteSessionOptions(so);

  input1 = make_input(1);
  input256 = make_input(256);
  input256b = make_input(256);
  double checksum = 0;
  run_once(input1, s, &checksum);
  pthread_t handoff_thread;
  pthread_create(&handoff_thread, NULL, handoff_main, NULL);

  printf("{\"ready\": true, \"impl\": \"c\", \"tf_version\": \"%s\", \"caller_thread\": %s, \"checksum_b1\": %.6f}\n",
         TF_Version(), caller ? "true" : "false", checksum);
  fflush(stdout);

  char line[256], id[64];
  double seconds, warmup;
  while (fgets(line, sizeof line, stdin)) {
    if (strncmp(line, "quit", 4) == 0) break;
    if (sscanf(line, "%63s %lf %lf", id, &seconds, &warmup) != 3) continue;
    if (strcmp(id, "b1") == 0) sequential(id, input1, 0, 0, seconds, warmup);
    else if (strcmp(id, "b1.handoff") == 0) sequential(id, input1, 1, 0, seconds, warmup);
    else if (strcmp(id, "b1.gap10") == 0) sequential(id, input1, 0, 10, seconds, warmup);
    else if (strcmp(id, "b256c1") == 0) sequential(id, input256, 0, 0, seconds, warmup);
    else if (strcmp(id, "b256c2") == 0) concurrent2(id, seconds, warmup);
    else { printf("{\"id\": \"%s\", \"error\": \"unknown measurement\"}\n", id); fflush(stdout); }
  }
  /* The hand-off worker is still parked; exit without tearing TF down under it. */
  fflush(stdout);
  _Exit(0);
}
