/*
 * cri-shim-runner: the process runner's helper (see ../runner.ts for why it exists).
 *
 * The shim writes length-prefixed request frames on our stdin; we run each program
 * with exactly the environment, stdin, output caps, timeout and process group asked
 * for, and write one answer frame per request on stdout, in whatever order the
 * programs finish. One poll loop serves every request; SIGCHLD arrives on a signalfd
 * and each child is reaped by its own pid. Programs start with posix_spawn (glibc
 * uses CLONE_VFORK: no copy of our page tables) with default signal dispositions, an
 * empty signal mask, and only fds 0/1/2: every fd of ours is close-on-exec.
 *
 * Frames (little endian; "str" = u32 length, the bytes, one NUL byte):
 *   request: u32 size | u32 id | u32 timeoutMs | u32 maxStdout | u32 maxStderr |
 *            u32 busyRetries | u32 busyDelayMs | u32 drainGraceMs | u8 detached |
 *            str file | u32 argc, argc x str | u32 envc, envc x str "K=V" |
 *            (envc 0xffffffff: no list, our own environment, i.e. the shim's when it started us) |
 *            u32 stdinLen, stdin bytes
 *   answer:  u32 size | u32 id | i32 exitCode (-1: none) | u32 signal (0: none) |
 *            u8 timedOut | u32 spawnErrno (0: none) | u32 len, stdout | u32 len, stderr
 * A malformed or oversized request is the shim's bug: we say so on stderr, kill what
 * we run and exit non-zero (the shim fails what it sent and starts a new helper).
 * When stdin ends we finish what runs and exit.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_FRAME (64u << 20)
/* Each captured stream is clipped here whatever the request asks: an answer stays below MAX_FRAME. */
#define MAX_CAPTURE (24u << 20)
/* Node reads pipes in 64 KiB chunks; the cap keeps or drops whole chunks as runLocal does. */
#define READ_CHUNK 65536
#define STDIN_CHUNK 65536
/* libuv's execvp default when the environment has no PATH (glibc's _PATH_DEFPATH). */
#define DEFAULT_PATH "/usr/bin:/bin"

struct capture {
  int fd;
  uint8_t *buf;
  size_t len, cap;
  uint64_t seen;
  uint32_t max;
};

struct job {
  struct job *next;
  uint8_t *frame; /* owns every string below (NUL-terminated in place) */
  uint32_t id, timeout_ms, busy_retries, busy_delay_ms, drain_grace_ms, attempt;
  int detached;
  const char *file;
  char **argv, **envp;
  const uint8_t *in_data;
  size_t in_len, in_off;
  int64_t retry_at, deadline, exited_at;
  pid_t pid;
  int reaped, status, timed_out, spawn_errno, in_fd;
  struct capture out, err;
};

struct outframe {
  struct outframe *next;
  uint8_t *buf;
  size_t len, off;
};

static struct job *jobs;
static struct outframe *out_head, *out_tail;
static int stdin_open = 1, stdout_broken;
static uint8_t in_hdr[4];
static size_t in_hdr_got;
static uint8_t *in_frame;
static uint32_t in_frame_len, in_frame_got;

static void die(const char *what) {
  fprintf(stderr, "cri-shim-runner: %s\n", what);
  for (struct job *j = jobs; j; j = j->next) {
    if (j->pid > 0 && !j->reaped) kill(j->detached ? -j->pid : j->pid, SIGKILL);
  }
  exit(2);
}

static void *xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p) die("out of memory");
  return p;
}

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void set_nonblock(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

static void close_fd(int *fd) {
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

/* ---- request decoding -------------------------------------------------------------- */

struct reader {
  uint8_t *p;
  size_t left;
};

static uint32_t get_u32(struct reader *r) {
  if (r->left < 4) die("malformed request: truncated");
  uint32_t v = (uint32_t)r->p[0] | (uint32_t)r->p[1] << 8 | (uint32_t)r->p[2] << 16 | (uint32_t)r->p[3] << 24;
  r->p += 4;
  r->left -= 4;
  return v;
}

/* A string is used in place: its NUL is checked to be there and nowhere inside it. */
static char *get_str(struct reader *r) {
  uint32_t n = get_u32(r);
  if (r->left < (size_t)n + 1 || r->p[n] != 0 || memchr(r->p, 0, n)) die("malformed request: bad string");
  char *s = (char *)r->p;
  r->p += (size_t)n + 1;
  r->left -= (size_t)n + 1;
  return s;
}

static char **get_strs(struct reader *r) {
  uint32_t n = get_u32(r);
  /* Every string takes at least 5 bytes: a count beyond that is a lie, not an allocation. */
  if (n > r->left / 5) die("malformed request: bad count");
  char **v = xmalloc(((size_t)n + 1) * sizeof *v);
  for (uint32_t i = 0; i < n; i++) v[i] = get_str(r);
  v[n] = NULL;
  return v;
}

static uint32_t clip(uint32_t v) { return v > MAX_CAPTURE ? MAX_CAPTURE : v; }

static struct job *decode(uint8_t *frame, uint32_t len) {
  struct reader r = {frame, len};
  struct job *j = xmalloc(sizeof *j);
  memset(j, 0, sizeof *j);
  j->frame = frame;
  j->id = get_u32(&r);
  j->timeout_ms = get_u32(&r);
  j->out.max = clip(get_u32(&r));
  j->err.max = clip(get_u32(&r));
  j->busy_retries = get_u32(&r);
  j->busy_delay_ms = get_u32(&r);
  j->drain_grace_ms = get_u32(&r);
  if (r.left < 1 || r.p[0] > 1) die("malformed request: bad flag");
  j->detached = r.p[0];
  r.p++;
  r.left--;
  j->file = get_str(&r);
  j->argv = get_strs(&r);
  if (r.left >= 4 && r.p[0] == 0xff && r.p[1] == 0xff && r.p[2] == 0xff && r.p[3] == 0xff) {
    get_u32(&r);
    j->envp = NULL;
  } else {
    j->envp = get_strs(&r);
  }
  j->in_len = get_u32(&r);
  if (r.left != j->in_len) die("malformed request: stdin length");
  j->in_data = r.p;
  j->in_fd = j->out.fd = j->err.fd = -1;
  return j;
}

/* ---- answers ----------------------------------------------------------------------- */

static void put_u32(uint8_t **p, uint32_t v) {
  (*p)[0] = v & 0xff;
  (*p)[1] = (v >> 8) & 0xff;
  (*p)[2] = (v >> 16) & 0xff;
  (*p)[3] = v >> 24;
  *p += 4;
}

static void flush_out(void) {
  while (out_head && !stdout_broken) {
    ssize_t n = write(1, out_head->buf + out_head->off, out_head->len - out_head->off);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return;
      stdout_broken = 1; /* the shim is gone: nobody reads answers any more */
      break;
    }
    out_head->off += (size_t)n;
    if (out_head->off < out_head->len) continue;
    struct outframe *done = out_head;
    out_head = done->next;
    if (!out_head) out_tail = NULL;
    free(done->buf);
    free(done);
  }
  while (stdout_broken && out_head) {
    struct outframe *done = out_head;
    out_head = done->next;
    free(done->buf);
    free(done);
  }
  if (!out_head) out_tail = NULL;
}

static void answer(struct job *j) {
  size_t body = 4 + 4 + 4 + 1 + 4 + 4 + j->out.len + 4 + j->err.len;
  struct outframe *f = xmalloc(sizeof *f);
  f->buf = xmalloc(4 + body);
  f->len = 4 + body;
  f->off = 0;
  f->next = NULL;
  uint8_t *p = f->buf;
  int exited = j->reaped && WIFEXITED(j->status);
  int signaled = j->reaped && WIFSIGNALED(j->status);
  put_u32(&p, (uint32_t)body);
  put_u32(&p, j->id);
  put_u32(&p, exited ? (uint32_t)WEXITSTATUS(j->status) : UINT32_MAX);
  put_u32(&p, signaled ? (uint32_t)WTERMSIG(j->status) : 0);
  *p++ = (uint8_t)j->timed_out;
  put_u32(&p, (uint32_t)j->spawn_errno);
  put_u32(&p, (uint32_t)j->out.len);
  if (j->out.len) memcpy(p, j->out.buf, j->out.len);
  p += j->out.len;
  put_u32(&p, (uint32_t)j->err.len);
  if (j->err.len) memcpy(p, j->err.buf, j->err.len);
  if (out_tail) out_tail->next = f;
  else out_head = f;
  out_tail = f;
  flush_out();
}

/* ---- spawning ---------------------------------------------------------------------- */

static int spawn_path(struct job *j, const char *path, posix_spawn_file_actions_t *fa, posix_spawnattr_t *at) {
  int rc = posix_spawn(&j->pid, path, fa, at, j->argv, j->envp ? j->envp : environ);
  if (rc != ENOEXEC) return rc;
  /* execvp (and so Node) runs a file without a #! line with /bin/sh. */
  size_t argc = 0;
  while (j->argv[argc]) argc++;
  char **sh = xmalloc((argc + 2) * sizeof *sh);
  sh[0] = "/bin/sh";
  sh[1] = (char *)path;
  for (size_t i = 1; i <= argc; i++) sh[i + 1] = j->argv[i];
  rc = posix_spawn(&j->pid, "/bin/sh", fa, at, sh, j->envp ? j->envp : environ);
  free(sh);
  return rc;
}

/* execvp's search, in the PATH of the environment given (as libuv does), not ours. */
static int spawn_search(struct job *j, posix_spawn_file_actions_t *fa, posix_spawnattr_t *at) {
  if (strchr(j->file, '/')) return spawn_path(j, j->file, fa, at);
  if (!*j->file) return ENOENT;
  const char *path = DEFAULT_PATH;
  for (char **e = j->envp ? j->envp : environ; *e; e++) {
    if (strncmp(*e, "PATH=", 5) == 0) path = *e + 5;
  }
  int saw_eacces = 0;
  char cand[PATH_MAX];
  for (const char *p = path;; p++) {
    const char *end = strchrnul(p, ':');
    size_t dl = (size_t)(end - p);
    int n = dl ? snprintf(cand, sizeof cand, "%.*s/%s", (int)dl, p, j->file) : snprintf(cand, sizeof cand, "%s", j->file);
    if (n > 0 && (size_t)n < sizeof cand) {
      struct stat st;
      /* A stat is cheaper than a spawn that fails: most PATH entries do not hold the program. */
      int rc = stat(cand, &st) == 0 ? spawn_path(j, cand, fa, at) : errno;
      if (rc == 0) return 0;
      if (rc == EACCES) saw_eacces = 1;
      else if (rc != ENOENT && rc != ENOTDIR && rc != ESTALE && rc != ENODEV && rc != ETIMEDOUT) return rc;
    }
    if (!*end) break;
    p = end;
  }
  return saw_eacces ? EACCES : ENOENT;
}

static int start(struct job *j) {
  int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1};
  if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC)) {
    int e = errno;
    close_fd(&in[0]), close_fd(&in[1]), close_fd(&out[0]), close_fd(&out[1]);
    return e;
  }
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t at;
  sigset_t none, all;
  sigemptyset(&none);
  /* Every signal, glibc's internal two (32, 33) included: sigfillset leaves them out, and
   * posix_spawn would then hand them to the program as SIG_IGN. */
  memset(&all, 0xff, sizeof all);
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_adddup2(&fa, err[1], 2);
  posix_spawnattr_init(&at);
  posix_spawnattr_setsigmask(&at, &none);
  posix_spawnattr_setsigdefault(&at, &all);
  posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | (j->detached ? POSIX_SPAWN_SETSID : 0));
  int rc = spawn_search(j, &fa, &at);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&at);
  close(in[0]), close(out[1]), close(err[1]);
  if (rc) {
    j->pid = 0;
    close(in[1]), close(out[0]), close(err[0]);
    return rc;
  }
  j->in_fd = in[1];
  j->out.fd = out[0];
  j->err.fd = err[0];
  set_nonblock(in[1]);
  set_nonblock(out[0]);
  set_nonblock(err[0]);
  if (j->timeout_ms) j->deadline = now_ms() + j->timeout_ms;
  if (j->in_len == 0) close_fd(&j->in_fd);
  return 0;
}

/* A spawn: started, a retry scheduled (ETXTBSY, linear backoff), or answered as failed. */
static int try_start(struct job *j) {
  int rc = start(j);
  if (rc == 0) return 1;
  if (rc == ETXTBSY && j->attempt < j->busy_retries) {
    j->attempt++;
    j->retry_at = now_ms() + (int64_t)j->busy_delay_ms * j->attempt;
    if (j->retry_at == 0) j->retry_at = 1;
    return 1;
  }
  j->spawn_errno = rc;
  return 0;
}

/* ---- running ----------------------------------------------------------------------- */

static void feed_stdin(struct job *j) {
  while (j->in_fd >= 0 && j->in_off < j->in_len) {
    size_t n = j->in_len - j->in_off;
    ssize_t w = write(j->in_fd, j->in_data + j->in_off, n > STDIN_CHUNK ? STDIN_CHUNK : n);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return;
      close_fd(&j->in_fd); /* EPIPE: a program may exit without reading its stdin */
      return;
    }
    j->in_off += (size_t)w;
  }
  close_fd(&j->in_fd);
}

static void drain(struct capture *c) {
  static uint8_t chunk[READ_CHUNK];
  while (c->fd >= 0) {
    ssize_t n = read(c->fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    if (n <= 0) {
      close_fd(&c->fd);
      return;
    }
    c->seen += (uint64_t)n;
    if (c->seen > c->max) continue; /* counted, dropped */
    if (c->len + (size_t)n > c->cap) {
      size_t cap = c->cap ? c->cap : READ_CHUNK;
      while (cap < c->len + (size_t)n) cap *= 2;
      uint8_t *b = realloc(c->buf, cap);
      if (!b) die("out of memory");
      c->buf = b;
      c->cap = cap;
    }
    memcpy(c->buf + c->len, chunk, (size_t)n);
    c->len += (size_t)n;
  }
}

static void kill_job(struct job *j) {
  if (j->detached && kill(-j->pid, SIGKILL) == 0) return;
  if (!j->reaped) kill(j->pid, SIGKILL); /* after the reap the pid may be someone else's */
}

static void reap_all(void) {
  for (struct job *j = jobs; j; j = j->next) {
    if (j->pid <= 0 || j->reaped) continue;
    pid_t r = waitpid(j->pid, &j->status, WNOHANG);
    if (r == j->pid) {
      j->reaped = 1;
      j->exited_at = now_ms();
    }
  }
}

static void free_job(struct job *j) {
  close_fd(&j->in_fd);
  close_fd(&j->out.fd);
  close_fd(&j->err.fd);
  free(j->out.buf);
  free(j->err.buf);
  free(j->argv);
  free(j->envp); /* NULL when it was ours */
  free(j->frame);
  free(j);
}

/* Timers, retries and completion; returns the poll timeout until the next of them. */
static int advance(void) {
  int64_t now = now_ms(), next = -1;
  for (struct job **pp = &jobs; *pp;) {
    struct job *j = *pp;
    int done = 0;
    if (j->retry_at && now >= j->retry_at) {
      j->retry_at = 0;
      if (!try_start(j)) done = 1;
      if (!done && j->pid > 0) feed_stdin(j);
    } else if (j->spawn_errno) {
      done = 1;
    }
    if (!done && j->deadline && now >= j->deadline) {
      j->deadline = 0;
      j->timed_out = 1;
      kill_job(j);
    }
    if (!done && j->reaped) {
      /* Output closed, or a grandchild holds it open past the grace: answer either way. */
      if ((j->out.fd < 0 && j->err.fd < 0) || now >= j->exited_at + j->drain_grace_ms) {
        drain(&j->out);
        drain(&j->err);
        done = 1;
      }
    }
    if (done) {
      *pp = j->next;
      answer(j);
      free_job(j);
      continue;
    }
    int64_t t[3] = {j->retry_at, j->deadline, j->reaped ? j->exited_at + j->drain_grace_ms : 0};
    for (int i = 0; i < 3; i++) {
      if (t[i] && (next < 0 || t[i] < next)) next = t[i];
    }
    pp = &j->next;
  }
  if (next < 0) return -1;
  return next <= now ? 0 : (int)(next - now > INT_MAX ? INT_MAX : next - now);
}

static void accept_request(uint8_t *frame, uint32_t len) {
  struct job *j = decode(frame, len);
  j->next = jobs;
  jobs = j;
  if (try_start(j) && j->pid > 0) feed_stdin(j);
}

/* Reads what is there of the request stream: a header, then the frame straight into its own buffer. */
static void read_requests(void) {
  for (;;) {
    ssize_t n;
    if (!in_frame) {
      n = read(0, in_hdr + in_hdr_got, sizeof in_hdr - in_hdr_got);
    } else {
      n = read(0, in_frame + in_frame_got, in_frame_len - in_frame_got);
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    if (n <= 0) {
      if (in_frame || in_hdr_got) fprintf(stderr, "cri-shim-runner: request stream ended inside a frame\n");
      stdin_open = 0;
      return;
    }
    if (!in_frame) {
      in_hdr_got += (size_t)n;
      if (in_hdr_got < sizeof in_hdr) continue;
      in_frame_len = (uint32_t)in_hdr[0] | (uint32_t)in_hdr[1] << 8 | (uint32_t)in_hdr[2] << 16 | (uint32_t)in_hdr[3] << 24;
      if (in_frame_len > MAX_FRAME || in_frame_len < 33) die("malformed request: frame size");
      in_frame = xmalloc(in_frame_len);
      in_frame_got = 0;
      in_hdr_got = 0;
      continue;
    }
    in_frame_got += (uint32_t)n;
    if (in_frame_got < in_frame_len) continue;
    uint8_t *f = in_frame;
    in_frame = NULL;
    accept_request(f, in_frame_len);
  }
}

static int make_signalfd(void) {
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, NULL);
  int fd = signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC);
  if (fd < 0) die("signalfd failed");
  return fd;
}

int main(void) {
  /* Whatever we inherited beyond 0/1/2 must not reach the programs we run. */
  close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
  signal(SIGPIPE, SIG_IGN);
  set_nonblock(0);
  set_nonblock(1);
  int sfd = make_signalfd();
  struct pollfd *pfds = NULL;
  struct job **owners = NULL;
  size_t pcap = 0;
  for (;;) {
    int timeout = advance();
    if (!stdin_open && !jobs && !out_head) {
      free(pfds);
      free(owners);
      return 0;
    }
    size_t need = 3;
    for (struct job *j = jobs; j; j = j->next) need += 3;
    if (need > pcap) {
      pcap = need * 2;
      free(pfds);
      free(owners);
      pfds = xmalloc(pcap * sizeof *pfds);
      owners = xmalloc(pcap * sizeof *owners);
    }
    size_t n = 0;
    pfds[n++] = (struct pollfd){sfd, POLLIN, 0};
    pfds[n++] = (struct pollfd){stdin_open ? 0 : -1, POLLIN, 0};
    pfds[n++] = (struct pollfd){out_head ? 1 : -1, POLLOUT, 0};
    for (struct job *j = jobs; j; j = j->next) {
      int fds[3] = {j->in_fd, j->out.fd, j->err.fd};
      for (int i = 0; i < 3; i++) {
        if (fds[i] < 0) continue;
        owners[n] = j;
        pfds[n++] = (struct pollfd){fds[i], i == 0 ? POLLOUT : POLLIN, 0};
      }
    }
    if (poll(pfds, n, timeout) < 0) {
      if (errno == EINTR) continue;
      die("poll failed");
    }
    if (pfds[0].revents) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof si) > 0) {
      }
      reap_all();
    }
    if (pfds[2].revents) flush_out();
    for (size_t i = 3; i < n; i++) {
      if (!pfds[i].revents) continue;
      struct job *j = owners[i];
      if (pfds[i].fd == j->in_fd) feed_stdin(j);
      else if (pfds[i].fd == j->out.fd) drain(&j->out);
      else if (pfds[i].fd == j->err.fd) drain(&j->err);
    }
    /* Requests last: a new job must not be mistaken for an owner of this round's fds. */
    if (pfds[1].revents) read_requests();
  }
}
