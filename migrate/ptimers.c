/* ptimers.c - see ptimers.h. */
#include "migrate/ptimers.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>

/* linux/prctl.h >= 6.16 */
#define MIG_PR_TIMER_CREATE_RESTORE_IDS 77
#define MIG_RESTORE_IDS_OFF 0
#define MIG_RESTORE_IDS_ON 1
/* ids a placeholder fill may have to skip */
#define MIG_FILL_MAX 4096

/* the kernel's struct sigevent on x86-64 (64 bytes) */
struct ksigevent {
	uint64_t value;
	int32_t signo, notify, tid, pad[11];
};

static int add_timer(struct mig_ptimer **v, size_t *n, const struct mig_ptimer *t)
{
	if (*n >= MIG_MAX_PTIMERS)
		return -E2BIG;
	struct mig_ptimer *nv = realloc(*v, (*n + 1) * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	nv[(*n)++] = *t;
	*v = nv;
	return 0;
}

static int by_id(const void *a, const void *b)
{
	const struct mig_ptimer *x = a, *y = b;
	return (x->id > y->id) - (x->id < y->id);
}

/* One timer's four lines, checked; the record is complete at "ClockID". */
static int parse_line(const char *l, struct mig_ptimer *t, pid_t pid, int *target, char *why,
		      size_t whylen)
{
	char kind[16], who[8];
	unsigned long long v;
	int a, b;
	if (sscanf(l, "ID: %d", &a) == 1) {
		*t = (struct mig_ptimer){ .id = a };
	} else if (sscanf(l, "signal: %d/%llx", &a, &v) == 2) {
		t->signo = a;
		t->sigval = v;
	} else if (sscanf(l, "notify: %15[a-z]/%7[a-z].%d", kind, who, &b) == 3) {
		int thread_id = strcmp(who, "tid") == 0;
		*target = b;
		if (strcmp(kind, "signal") == 0)
			t->notify = thread_id ? SIGEV_THREAD_ID : SIGEV_SIGNAL;
		else if (strcmp(kind, "none") == 0)
			t->notify = SIGEV_NONE;
		else
			t->notify = -1;
		if (t->notify < 0 || (thread_id && b != pid)) {
			snprintf(why, whylen, "POSIX timer %d notifies %s/%s.%d", t->id, kind, who,
				 b);
			return -EBUSY;
		}
	} else if (sscanf(l, "ClockID: %d", &a) == 1) {
		t->clock = a;
		if (!mig_ptimer_clock_ok(a)) {
			snprintf(why, whylen, "POSIX timer %d on clock %d", t->id, a);
			return -EBUSY;
		}
		return 1;
	}
	return 0;
}

int mig_ptimers_read(pid_t pid, struct mig_ptimer **ret, size_t *ret_n, char *why, size_t whylen)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/timers", pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return -errno;
	struct mig_ptimer *v = NULL, cur = { 0 };
	size_t n = 0;
	int r = 0, target = 0;
	while (r >= 0 && fgets(line, sizeof(line), f)) {
		r = parse_line(line, &cur, pid, &target, why, whylen);
		if (r == 1)
			r = add_timer(&v, &n, &cur);
	}
	fclose(f);
	if (r < 0) {
		free(v);
		return r;
	}
	if (n)
		qsort(v, n, sizeof(*v), by_id);
	*ret = v;
	*ret_n = n;
	return 0;
}

int mig_ptimers_values(struct mig_tracee *t, uint64_t scratch, struct mig_image *img)
{
	for (size_t i = 0; i < img->n_ptimers; i++) {
		struct mig_ptimer *p = &img->ptimers[i];
		long k = mig_tracee_call(t, SYS_timer_gettime, (uint64_t)p->id, scratch, 0, 0, 0, 0);
		if (k < 0)
			return (int)k;
		int64_t its[4]; /* interval sec, nsec, value sec, nsec */
		int r = mig_tracee_read(t, scratch, its, sizeof(its));
		if (r < 0)
			return r;
		p->interval_ns = its[0] * 1000000000 + its[1];
		p->value_ns = its[2] * 1000000000 + its[3];
	}
	return 0;
}

/* timer_create in the tracee asking for id `want` (honoured only with restore ids on);
 * returns the id the kernel gave, or a negative errno. */
static long create(struct mig_tracee *t, uint64_t scratch, int32_t clock,
		   const struct ksigevent *ev, int32_t want)
{
	int r = mig_tracee_write(t, scratch, ev, sizeof(*ev));
	if (r == 0)
		r = mig_tracee_write(t, scratch + sizeof(*ev), &want, sizeof(want));
	if (r < 0)
		return r;
	long k = mig_tracee_call(t, SYS_timer_create, (uint64_t)clock, scratch,
				 scratch + sizeof(*ev), 0, 0, 0);
	if (k < 0)
		return k;
	int32_t got;
	r = mig_tracee_read(t, scratch + sizeof(*ev), &got, sizeof(got));
	return r < 0 ? r : got;
}

static struct ksigevent sigevent_of(const struct mig_ptimer *p, pid_t self)
{
	struct ksigevent ev = { .value = p->sigval, .signo = p->signo, .notify = p->notify };
	if (p->notify == SIGEV_THREAD_ID)
		ev.tid = self;
	return ev;
}

/* Without restore ids: ids come in order from 0 in a new process; fill the gaps. */
static int create_in_order(struct mig_tracee *t, uint64_t scratch, const struct mig_image *img)
{
	const struct ksigevent none = { .notify = SIGEV_NONE };
	int32_t next = 0;
	int r = 0;
	for (size_t i = 0; i < img->n_ptimers && r == 0; i++) {
		const struct mig_ptimer *p = &img->ptimers[i];
		if (p->id >= MIG_FILL_MAX)
			return -ERANGE;
		for (; next < p->id && r == 0; next++) {
			long k = create(t, scratch, CLOCK_MONOTONIC, &none, 0);
			r = k < 0 ? (int)k : k != next ? -EEXIST : 0;
		}
		struct ksigevent ev = sigevent_of(p, t->pid);
		long k = r < 0 ? r : create(t, scratch, p->clock, &ev, 0);
		r = k < 0 ? (int)k : k != p->id ? -EEXIST : 0;
		next++;
	}
	/* the placeholders go again */
	for (int32_t id = 0, i = 0; id < next && r == 0; id++) {
		if ((size_t)i < img->n_ptimers && img->ptimers[i].id == id) {
			i++;
			continue;
		}
		long k = mig_tracee_call(t, SYS_timer_delete, (uint64_t)id, 0, 0, 0, 0, 0);
		r = k < 0 ? (int)k : 0;
	}
	return r;
}

static int create_by_id(struct mig_tracee *t, uint64_t scratch, const struct mig_image *img)
{
	int r = 0;
	for (size_t i = 0; i < img->n_ptimers && r == 0; i++) {
		const struct mig_ptimer *p = &img->ptimers[i];
		struct ksigevent ev = sigevent_of(p, t->pid);
		long k = create(t, scratch, p->clock, &ev, p->id);
		r = k < 0 ? (int)k : k != p->id ? -EEXIST : 0;
	}
	long k = mig_tracee_call(t, SYS_prctl, MIG_PR_TIMER_CREATE_RESTORE_IDS, MIG_RESTORE_IDS_OFF,
				 0, 0, 0, 0);
	return r < 0 ? r : k < 0 ? (int)k : 0;
}

int mig_ptimers_restore(struct mig_tracee *t, uint64_t scratch, const struct mig_image *img,
			char *why, size_t whylen)
{
	if (img->n_ptimers == 0)
		return 0;
	long on = mig_tracee_call(t, SYS_prctl, MIG_PR_TIMER_CREATE_RESTORE_IDS, MIG_RESTORE_IDS_ON,
				  0, 0, 0, 0);
	int r = on == 0 ? create_by_id(t, scratch, img) : create_in_order(t, scratch, img);
	if (r < 0) {
		snprintf(why, whylen, "re-creating POSIX timers (%s ids): %s",
			 on == 0 ? "restored" : "sequential", strerror(-r));
		return r;
	}
	for (size_t i = 0; i < img->n_ptimers; i++) {
		const struct mig_ptimer *p = &img->ptimers[i];
		if (!p->value_ns)
			continue;
		int64_t its[4] = { p->interval_ns / 1000000000, p->interval_ns % 1000000000,
				   p->value_ns / 1000000000, p->value_ns % 1000000000 };
		r = mig_tracee_write(t, scratch, its, sizeof(its));
		long k = r < 0 ? r
			       : mig_tracee_call(t, SYS_timer_settime, (uint64_t)p->id, 0, scratch,
						 0, 0, 0);
		if (k < 0) {
			snprintf(why, whylen, "arming POSIX timer %d: %s", p->id, strerror((int)-k));
			return (int)k;
		}
	}
	return 0;
}
