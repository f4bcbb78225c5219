/* nodeinfo.c - what this node says about itself (struct gossip_info), sampled about once a
 * second from /proc and the cgroup file system.
 *
 * Load is the run queue, smoothed with an exponential moving average (time constant
 * LOAD_TAU_MS), x1000. Without a CPU quota: running tasks from /proc/loadavg, minus the sampler
 * itself. With a quota (cgroup v1 cpu.cfs_quota_us / cfs_period_us or v2 cpu.max, tightest of
 * the daemon's cgroup and its ancestors) the node *is* its cgroup and /proc/loadavg (machine-wide)
 * means nothing: the run queue is the number of runnable threads listed in the cgroup (v1 "tasks",
 * v2 "cgroup.threads"), and the quota is reported so that load can be judged against it.
 * cpu_usage_milli is the CPU time used per second over the last sample: the cgroup's
 * (cpuacct.usage, cpu.stat usage_usec) with a quota, else the machine's (/proc/stat).
 */
#define LOG_PREFIX "omxd"
#include "cli/omxd/omxd.h"

#include <errno.h>
#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "common/cpu.h"
#include "common/log.h"

#define LOAD_TAU_MS 4000.0
#define CG_PATH_MAX 512

struct omxd_nodeinfo {
	struct gossip_info info;
	double load;		 /* smoothed, in CPUs */
	bool have_load;
	uint64_t last_ms;
	uint64_t last_usage_ns;	 /* cgroup or machine CPU time */
	bool have_usage;
	char cg_usage[CG_PATH_MAX + 128]; /* file giving the cgroup's usage, "" = none */
	char cg_tasks[CG_PATH_MAX + 128]; /* file listing the cgroup's threads, "" = none */
	bool cg_v2;
	uint32_t quota_milli;
};

static int read_small(const char *path, char *buf, size_t cap)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return -errno;
	size_t n = fread(buf, 1, cap - 1, f);
	buf[n] = '\0';
	int r = ferror(f) ? -EIO : 0;
	if (fclose(f) != 0 && r == 0)
		r = -errno;
	return r;
}

/* The cgroup path of controller ctl ("cpu" for v1, "" for the v2 line) from /proc/self/cgroup. */
static int self_cgroup(const char *ctl, char *ret, size_t cap)
{
	FILE *f = fopen("/proc/self/cgroup", "re");
	if (!f)
		return -errno;
	char line[1024];
	int r = -ENOENT;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		char *c1 = strchr(line, ':');
		char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			continue;
		*c2 = '\0';
		const char *ctls = c1 + 1;
		bool match = false;
		if (ctl[0] == '\0') {
			match = ctls[0] == '\0';
		} else {
			char tmp[256];
			snprintf(tmp, sizeof(tmp), "%s", ctls);
			for (char *save, *t = strtok_r(tmp, ",", &save); t; t = strtok_r(NULL, ",", &save))
				if (strcmp(t, ctl) == 0)
					match = true;
		}
		if (match) {
			snprintf(ret, cap, "%s", c2 + 1);
			r = 0;
			break;
		}
	}
	(void)fclose(f);
	return r;
}

/* v1: tightest quota over dir and its ancestors under root; fills the usage file. */
static void find_quota_v1(struct omxd_nodeinfo *ni)
{
	static const char *const roots[] = { "/sys/fs/cgroup/cpu,cpuacct", "/sys/fs/cgroup/cpu" };
	char cg[CG_PATH_MAX], path[CG_PATH_MAX + 128], buf[64];
	if (self_cgroup("cpu", cg, sizeof(cg)) < 0)
		return;
	for (size_t i = 0; i < sizeof(roots) / sizeof(roots[0]); i++) {
		snprintf(path, sizeof(path), "%s/cpu.cfs_quota_us", roots[i]);
		if (access(path, R_OK) != 0)
			continue;
		char dir[CG_PATH_MAX];
		snprintf(dir, sizeof(dir), "%s", cg);
		double best = 0;
		for (;;) {
			long q = -1, p = 0;
			snprintf(path, sizeof(path), "%s%s/cpu.cfs_quota_us", roots[i], dir);
			if (read_small(path, buf, sizeof(buf)) == 0)
				q = strtol(buf, NULL, 10);
			snprintf(path, sizeof(path), "%s%s/cpu.cfs_period_us", roots[i], dir);
			if (read_small(path, buf, sizeof(buf)) == 0)
				p = strtol(buf, NULL, 10);
			if (q > 0 && p > 0 && (best == 0 || (double)q / (double)p < best))
				best = (double)q / (double)p;
			char *slash = strrchr(dir, '/');
			if (!slash || dir[0] == '\0' || strcmp(dir, "/") == 0)
				break;
			*slash = '\0';
		}
		ni->quota_milli = (uint32_t)(best * 1000.0 + 0.5);
		snprintf(ni->cg_tasks, sizeof(ni->cg_tasks), "%s%s/tasks", roots[i], cg);
		/* usage: cpuacct in the same hierarchy (cpu,cpuacct) or its own, with its own path */
		char acg[CG_PATH_MAX];
		snprintf(ni->cg_usage, sizeof(ni->cg_usage), "%s%s/cpuacct.usage", roots[i], cg);
		if (access(ni->cg_usage, R_OK) != 0) {
			ni->cg_usage[0] = '\0';
			if (self_cgroup("cpuacct", acg, sizeof(acg)) == 0 && strcmp(acg, "/") != 0)
				snprintf(ni->cg_usage, sizeof(ni->cg_usage),
					 "/sys/fs/cgroup/cpuacct%s/cpuacct.usage", acg);
			if (access(ni->cg_usage, R_OK) != 0)
				ni->cg_usage[0] = '\0';
		}
		return;
	}
}

static void find_quota_v2(struct omxd_nodeinfo *ni)
{
	char cg[CG_PATH_MAX], dir[CG_PATH_MAX], path[CG_PATH_MAX + 64], buf[128];
	if (self_cgroup("", cg, sizeof(cg)) < 0 || access("/sys/fs/cgroup/cgroup.controllers", R_OK))
		return;
	snprintf(dir, sizeof(dir), "%s", cg);
	double best = 0;
	for (;;) {
		snprintf(path, sizeof(path), "/sys/fs/cgroup%s/cpu.max", dir);
		long q = 0, p = 0;
		if (read_small(path, buf, sizeof(buf)) == 0 && sscanf(buf, "%ld %ld", &q, &p) == 2 &&
		    q > 0 && p > 0 && (best == 0 || (double)q / (double)p < best))
			best = (double)q / (double)p;
		char *slash = strrchr(dir, '/');
		if (!slash || dir[0] == '\0' || strcmp(dir, "/") == 0)
			break;
		*slash = '\0';
	}
	if (best > 0) {
		ni->quota_milli = (uint32_t)(best * 1000.0 + 0.5);
		ni->cg_v2 = true;
		snprintf(ni->cg_usage, sizeof(ni->cg_usage), "/sys/fs/cgroup%s/cpu.stat", cg);
		snprintf(ni->cg_tasks, sizeof(ni->cg_tasks), "/sys/fs/cgroup%s/cgroup.threads", cg);
	}
}

/* CPU time consumed so far (ns): the cgroup's with a quota, else the machine's non-idle time. */
static int usage_ns(const struct omxd_nodeinfo *ni, uint64_t *ret)
{
	char buf[2048];
	if (ni->cg_usage[0]) {
		int r = read_small(ni->cg_usage, buf, sizeof(buf));
		if (r < 0)
			return r;
		if (!ni->cg_v2) {
			*ret = strtoull(buf, NULL, 10);
			return 0;
		}
		const char *p = strstr(buf, "usage_usec ");
		if (!p)
			return -EBADMSG;
		*ret = strtoull(p + 11, NULL, 10) * 1000ull;
		return 0;
	}
	int r = read_small("/proc/stat", buf, sizeof(buf));
	if (r < 0)
		return r;
	unsigned long long v[8] = { 0 };
	if (sscanf(buf, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
		   &v[4], &v[5], &v[6], &v[7]) < 4)
		return -EBADMSG;
	unsigned long long busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7]; /* minus idle, iowait */
	long hz = sysconf(_SC_CLK_TCK);
	*ret = busy * (1000000000ull / (unsigned long long)(hz > 0 ? hz : 100));
	return 0;
}

static void sample_mem(struct gossip_info *info)
{
	char buf[4096];
	if (read_small("/proc/meminfo", buf, sizeof(buf)) < 0)
		return;
	const char *p = strstr(buf, "MemTotal:");
	if (p)
		info->mem_total_kb = strtoull(p + 9, NULL, 10);
	p = strstr(buf, "MemAvailable:");
	if (p)
		info->mem_free_kb = strtoull(p + 13, NULL, 10);
}

static double runqueue(void)
{
	char buf[128];
	if (read_small("/proc/loadavg", buf, sizeof(buf)) < 0)
		return 0;
	double a, b, c;
	long running = 0, total = 0;
	if (sscanf(buf, "%lf %lf %lf %ld/%ld", &a, &b, &c, &running, &total) != 5)
		return 0;
	return running > 1 ? (double)(running - 1) : 0; /* minus this sampler */
}

/* Runnable threads listed in a cgroup's tasks file, minus the sampler; -1 if unreadable. */
static double cgroup_runqueue(const char *tasks)
{
	FILE *f = fopen(tasks, "re");
	if (!f)
		return -1;
	pid_t self = gettid();
	long tid;
	int running = 0, seen = 0;
	while (seen < 100000 && fscanf(f, "%ld", &tid) == 1) {
		seen++;
		if (tid == self)
			continue;
		char path[64], buf[512];
		snprintf(path, sizeof(path), "/proc/%ld/stat", tid);
		if (read_small(path, buf, sizeof(buf)) < 0)
			continue; /* exited meanwhile */
		const char *paren = strrchr(buf, ')');
		if (paren && paren[1] == ' ' && paren[2] == 'R')
			running++;
	}
	(void)fclose(f);
	return running;
}

static uint32_t online_cpus(void)
{
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		return (uint32_t)CPU_COUNT(&set);
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (uint32_t)n : 1;
}

int omxd_nodeinfo_new(const char *name, const char *addr, bool accept_guests,
		      struct omxd_nodeinfo **ret)
{
	struct omxd_nodeinfo *ni = calloc(1, sizeof(*ni));
	if (!ni)
		return -ENOMEM;
	struct gossip_info *info = &ni->info;
	if (name && name[0])
		snprintf(info->name, sizeof(info->name), "%s", name);
	else if (gethostname(info->name, sizeof(info->name) - 1) < 0)
		snprintf(info->name, sizeof(info->name), "unknown");
	snprintf(info->addr, sizeof(info->addr), "%s", addr);
	info->accept_guests = accept_guests;
	struct utsname u;
	if (uname(&u) == 0)
		snprintf(info->kernel, sizeof(info->kernel), "%s", u.release);
	uint8_t fp[CPU_FP_LEN];
	if (cpu_vdso_fingerprint(fp) == 0)
		memcpy(info->vdso_fp, fp, sizeof(info->vdso_fp) < sizeof(fp) ? sizeof(info->vdso_fp)
									      : sizeof(fp));
	info->cpu_features = cpu_xsave_features();
	info->xsave_size = cpu_xsave_size();
	info->speed_mhz = cpu_speed_mhz();
	find_quota_v1(ni);
	if (ni->quota_milli == 0) {
		ni->cg_usage[0] = '\0';
		find_quota_v2(ni);
	}
	if (ni->quota_milli == 0) {
		ni->cg_usage[0] = '\0'; /* no quota: machine-wide accounting */
		ni->cg_tasks[0] = '\0';
	}
	if (ni->quota_milli)
		log_info("CPU quota %.2f CPUs (cgroup): load = the cgroup's run queue, usage from %s",
			 ni->quota_milli / 1000.0, ni->cg_usage[0] ? ni->cg_usage : "/proc/stat");
	info->cpu_quota_milli = ni->quota_milli;
	*ret = ni;
	return 0;
}

void omxd_nodeinfo_free(struct omxd_nodeinfo **ni)
{
	if (!ni || !*ni)
		return;
	free(*ni);
	*ni = NULL;
}

void omxd_nodeinfo_sample(struct omxd_nodeinfo *ni, uint64_t now_ms)
{
	struct gossip_info *info = &ni->info;
	info->cpus = online_cpus();
	sample_mem(info);
	uint64_t u;
	double usage = -1; /* CPUs used since the last sample */
	if (usage_ns(ni, &u) == 0) {
		if (ni->have_usage && now_ms > ni->last_ms && u >= ni->last_usage_ns)
			usage = (double)(u - ni->last_usage_ns) / 1e6 / (double)(now_ms - ni->last_ms);
		ni->last_usage_ns = u;
		ni->have_usage = true;
	}
	if (usage >= 0)
		info->cpu_usage_milli = (uint32_t)(usage * 1000.0 + 0.5);
	double x = ni->cg_tasks[0] ? cgroup_runqueue(ni->cg_tasks) : -1;
	if (x < 0)
		x = runqueue();
	if (!ni->have_load) {
		ni->load = x;
		ni->have_load = true;
	} else if (now_ms > ni->last_ms) {
		double alpha = 1.0 - exp(-(double)(now_ms - ni->last_ms) / LOAD_TAU_MS);
		ni->load += alpha * (x - ni->load);
	}
	info->load_milli = (uint32_t)(ni->load * 1000.0 + 0.5);
	ni->last_ms = now_ms;
}

const struct gossip_info *omxd_nodeinfo_get(const struct omxd_nodeinfo *ni)
{
	return &ni->info;
}
