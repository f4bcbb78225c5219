/* main.c - omxd: options, config file, start-up, the zmq_poll() loop, signals.
 *
 *   omxd --state-dir DIR --listen ADDR:PORT [--advertise ADDR:PORT] [--node-id N]
 *        [--config FILE] [--name NAME] [--profile lan|wan] [--log-level L]
 *        [--export DIR[:ro]]... [--no-root-squash] [--mfs DIR | --no-mfs] [--nice N]
 *
 * Runs in the foreground and logs to stderr. Without a stored cluster key it stays idle (no
 * mesh) until `omx join`. SIGTERM/SIGINT: graceful leave (at most OMXD_LEAVE_MAX_MS), exit 0;
 * the stored key is kept so a restart rejoins. A second signal exits at once.
 */
#define LOG_PREFIX "omxd"
#include "cli/omxd/omxd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <ifaddrs.h>
#include <poll.h>
#include <malloc.h>
#include <netinet/in.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"

#define POLL_OUT_MAX 64 /* connections being set up, polled for writability (mesh.h) */
#define POLL_MAX     (GOSSIP_MESH_POLLITEMS + 3 + OMXD_CTL_CLIENTS_MAX + POLL_OUT_MAX)
#define OMXD_NICE_DEFAULT (-10)
#define PRIO_CHECK_MS	  1000

uint64_t omxd_now_ms(void)
{
	struct timespec ts;
	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: omxd --state-dir DIR [--listen ADDR:PORT] [--advertise ADDR:PORT]\n"
		"            [--node-id N] [--config FILE] [--name NAME] [--profile lan|wan]\n"
		"            [--log-level error|warn|info|debug]\n"
		"            [--export DIR[:ro]]... [--no-root-squash] [--mfs DIR | --no-mfs]\n"
		"            [--nice N]\n"
		"The omx node daemon (see omxd(8)). Default listen 0.0.0.0:%d, state dir /var/lib/omx,\n"
		"export /, root squashed, /mfs mounted at %s, membership threads at nice %d\n"
		"(--nice 0 leaves them alone).\n",
		OMXD_DEFAULT_PORT, OMXD_MFS_DEFAULT, OMXD_NICE_DEFAULT);
}

/* ---- options and config file ---------------------------------------------------------- */

static int set_bool(const char *v, bool *ret)
{
	if (!strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "1") || !strcmp(v, "on"))
		*ret = true;
	else if (!strcmp(v, "false") || !strcmp(v, "no") || !strcmp(v, "0") || !strcmp(v, "off"))
		*ret = false;
	else
		return -EINVAL;
	return 0;
}

static int set_str(char *dst, size_t cap, const char *v)
{
	if (strlen(v) >= cap)
		return -ENAMETOOLONG;
	strcpy(dst, v);
	return 0;
}

/* "DIR" or "DIR:ro" (also ":rw"), DIR absolute: appended to the export list. */
static int add_export(struct omxd_opts *o, const char *v)
{
	if (o->n_exports >= OMXD_EXPORTS_MAX || v[0] != '/')
		return -EINVAL;
	char path[PATH_MAX];
	if (set_str(path, sizeof(path), v) < 0)
		return -ENAMETOOLONG;
	bool ro = false;
	char *colon = strrchr(path, ':');
	if (colon && (strcmp(colon, ":ro") == 0 || strcmp(colon, ":rw") == 0)) {
		ro = colon[1] == 'r' && colon[2] == 'o';
		*colon = '\0';
	}
	strcpy(o->exports[o->n_exports], path);
	o->export_ro[o->n_exports++] = ro;
	return 0;
}

/* One option by name (long option name, '_' accepted for '-'). v is NULL for a flag given on
 * the command line (--no-root-squash, --no-mfs). */
static int apply_option(struct omxd_opts *o, const char *key, const char *v)
{
	char k[32];
	if (set_str(k, sizeof(k), key) < 0)
		return -EINVAL;
	for (char *p = k; *p; p++)
		if (*p == '_')
			*p = '-';
	if (!strcmp(k, "no-root-squash") || !strcmp(k, "no-mfs") || !strcmp(k, "root-squash")) {
		bool b = true;
		if (v && set_bool(v, &b) < 0)
			return -EINVAL;
		if (!strcmp(k, "no-root-squash"))
			o->root_squash = !b;
		else if (!strcmp(k, "root-squash"))
			o->root_squash = b;
		else if (b)
			o->mfs_dir[0] = '\0';
		return 0;
	}
	if (!v)
		return -EINVAL;
	if (!strcmp(k, "export"))
		return add_export(o, v);
	if (!strcmp(k, "mfs")) {
		if (!strcmp(v, "off") || !strcmp(v, "no")) {
			o->mfs_dir[0] = '\0';
			return 0;
		}
		return v[0] == '/' ? set_str(o->mfs_dir, sizeof(o->mfs_dir), v) : -EINVAL;
	}
	if (!strcmp(k, "state-dir"))
		return set_str(o->state_dir, sizeof(o->state_dir), v);
	if (!strcmp(k, "listen") || !strcmp(k, "advertise")) {
		if (omxsec_endpoint_check(v) < 0)
			return -EINVAL;
		return set_str(!strcmp(k, "listen") ? o->listen : o->advertise, OMXD_EP_MAX, v);
	}
	if (!strcmp(k, "node-id")) {
		char *end;
		errno = 0;
		unsigned long n = strtoul(v, &end, 10);
		if (errno || *end || end == v || n < 1 || n > 65535)
			return -EINVAL;
		o->node_id = (uint16_t)n;
		return 0;
	}
	if (!strcmp(k, "name"))
		return v[0] ? set_str(o->name, sizeof(o->name), v) : -EINVAL;
	if (!strcmp(k, "profile")) {
		struct gossip_timing t;
		if (gossip_timing_by_name(v, &t) < 0)
			return -EINVAL;
		return set_str(o->profile, sizeof(o->profile), v);
	}
	if (!strcmp(k, "nice")) {
		char *end;
		errno = 0;
		long n = strtol(v, &end, 10);
		if (errno || *end || end == v || n < -20 || n > 0)
			return -EINVAL;
		o->nice = (int)n;
		return 0;
	}
	if (!strcmp(k, "log-level"))
		return log_level_parse(v, &log_level);
	if (!strcmp(k, "accept-guests"))
		return set_bool(v, &o->accept_guests);
	return -ENOENT;
}

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
		s[--n] = '\0';
	return s;
}

/* "key = value" lines; '#' starts a comment line. */
static int load_config(struct omxd_opts *o, const char *path)
{
	FILE *f = fopen(path, "re");
	if (!f) {
		int r = -errno;
		fprintf(stderr, "omxd: %s: %s\n", path, strerror(-r));
		return r;
	}
	char line[1024];
	int lineno = 0, r = 0;
	while (r == 0 && fgets(line, sizeof(line), f)) {
		lineno++;
		char *s = trim(line);
		if (*s == '\0' || *s == '#')
			continue;
		char *eq = strchr(s, '=');
		if (!eq) {
			fprintf(stderr, "omxd: %s:%d: expected 'key = value'\n", path, lineno);
			r = -EINVAL;
			break;
		}
		*eq = '\0';
		char *key = trim(s), *val = trim(eq + 1);
		int e = apply_option(o, key, val);
		if (e == -ENOENT)
			fprintf(stderr, "omxd: %s:%d: unknown key '%s'\n", path, lineno, key);
		else if (e < 0)
			fprintf(stderr, "omxd: %s:%d: bad value for '%s': '%s'\n", path, lineno, key,
				val);
		r = e;
	}
	(void)fclose(f);
	return r;
}

static const struct option longopts[] = {
	{ "state-dir", required_argument, NULL, 's' }, { "listen", required_argument, NULL, 'l' },
	{ "advertise", required_argument, NULL, 'a' }, { "node-id", required_argument, NULL, 'i' },
	{ "config", required_argument, NULL, 'c' },    { "name", required_argument, NULL, 'n' },
	{ "profile", required_argument, NULL, 'p' },   { "log-level", required_argument, NULL, 'L' },
	{ "help", no_argument, NULL, 'h' },	       { "version", no_argument, NULL, 'V' },
	{ "export", required_argument, NULL, 'e' },    { "no-root-squash", no_argument, NULL, 'R' },
	{ "mfs", required_argument, NULL, 'm' },       { "no-mfs", no_argument, NULL, 'M' },
	{ "nice", required_argument, NULL, 'N' },      { NULL, 0, NULL, 0 },
};

/* Returns 0 to run, 1 to exit 0 (help/version), 2 on usage errors. Command line wins over the
 * config file: the file is read first, then the command line is applied again. */
static int parse_args(int argc, char **argv, struct omxd_opts *o)
{
	snprintf(o->state_dir, sizeof(o->state_dir), "/var/lib/omx");
	snprintf(o->listen, sizeof(o->listen), "0.0.0.0:%d", OMXD_DEFAULT_PORT);
	snprintf(o->profile, sizeof(o->profile), "lan");
	o->accept_guests = true;
	o->root_squash = true;
	o->nice = OMXD_NICE_DEFAULT;
	snprintf(o->mfs_dir, sizeof(o->mfs_dir), "%s", OMXD_MFS_DEFAULT);
	const char *config = NULL;
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (c == 'c')
			config = optarg;
		else if (c == 'h') {
			usage(stdout);
			return 1;
		} else if (c == 'V') {
			printf("omxd %s\n", OMX_VERSION_STRING);
			return 1;
		} else if (c == '?') {
			fprintf(stderr, "omxd: unknown or incomplete option '%s'\n", argv[optind - 1]);
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "omxd: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (config && load_config(o, config) < 0)
		return 2;
	optind = 1;
	bool cli_exports = false; /* --export on the command line replaces the file's list */
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		const char *name = NULL;
		for (const struct option *lo = longopts; lo->name; lo++)
			if (lo->val == c)
				name = lo->name;
		if (c == 'c' || !name)
			continue;
		if (c == 'e' && !cli_exports) {
			cli_exports = true;
			o->n_exports = 0;
		}
		if (apply_option(o, name, optarg) < 0) {
			fprintf(stderr, "omxd: bad value for --%s: '%s'\n", name,
				optarg ? optarg : "");
			return 2;
		}
	}
	return 0;
}

/* ---- advertised endpoint ---------------------------------------------------------------- */

static void resolve_advertise(struct omxd *d)
{
	if (d->opts.advertise[0]) {
		snprintf(d->advertise, sizeof(d->advertise), "%s", d->opts.advertise);
	} else {
		const char *colon = strrchr(d->opts.listen, ':');
		size_t hl = (size_t)(colon - d->opts.listen);
		char host[OMXD_EP_MAX];
		memcpy(host, d->opts.listen, hl);
		host[hl] = '\0';
		if (strcmp(host, "0.0.0.0") == 0 || strcmp(host, "*") == 0) {
			snprintf(host, sizeof(host), "127.0.0.1");
			struct ifaddrs *ifs;
			if (getifaddrs(&ifs) == 0) {
				for (struct ifaddrs *i = ifs; i; i = i->ifa_next) {
					if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET)
						continue;
					struct in_addr a = ((struct sockaddr_in *)i->ifa_addr)->sin_addr;
					if ((ntohl(a.s_addr) >> 24) == 127)
						continue;
					inet_ntop(AF_INET, &a, host, sizeof(host));
					break;
				}
				freeifaddrs(ifs);
			}
		}
		snprintf(d->advertise, sizeof(d->advertise), "%s%s", host, colon);
	}
	snprintf(d->addr, sizeof(d->addr), "tcp://%s", d->advertise);
}

/* ---- the loop ------------------------------------------------------------------------- */

static int open_signals(void)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	int fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

static void on_signal(struct omxd *d, int sigfd, bool *exiting)
{
	struct signalfd_siginfo si;
	while (read(sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (*exiting || !d->g) {
			log_info("signal %u: exiting", si.ssi_signo);
			d->stop = true;
			return;
		}
		log_info("signal %u: leaving the cluster, then exiting", si.ssi_signo);
		*exiting = true;
		omxd_cluster_leave(d, false);
	}
}

/* ---- scheduling priority of the membership threads -----------------------------------------
 *
 * SWIM judges a member by how soon it answers, so a daemon that is runnable but not scheduled
 * for a few hundred ms gets suspected, and on a loaded host every CURVE handshake (several
 * thread wake-ups on both sides) takes that long too. A node busy with compute jobs is the
 * normal case for omx. Measured with bench/mesh_16.sh (16 nodes joining at once, 2-core host at
 * load 8): each omxd used ~0.2 s of CPU during the join, its loop and ZeroMQ I/O threads each
 * waited ~2 s in run queues, handshakes took 0.3-1 s, and 40-120 members were falsely
 * suspected. Like corosync (real-time priority by default), omxd runs the threads on the
 * failure-detection path at a lower niceness (--nice, default OMXD_NICE_DEFAULT): the loop
 * thread and ZeroMQ's I/O thread (handshakes, encryption). Both use little CPU (< 1 % of a core
 * when idle). Threads doing bulk work (oMFS workers, FUSE) keep the process's niceness; a new
 * Linux thread inherits its creator's, so whenever the thread count changes (checked every
 * PRIO_CHECK_MS) inherited boosts are undone. Without CAP_SYS_NICE this is skipped (logged). */
struct prio {
	int want;	/* niceness for the membership threads; 0 = feature off */
	int base;	/* the process's niceness at start: what other threads get back */
	size_t threads; /* thread count at the last pass */
	uint64_t next_ms;
	bool off; /* not permitted: stop trying */
};

static bool membership_thread(pid_t pid, long tid)
{
	if (tid == (long)pid)
		return true; /* the loop runs in the main thread */
	char path[64], comm[32] = "";
	snprintf(path, sizeof(path), "/proc/self/task/%ld/comm", tid);
	FILE *f = fopen(path, "re");
	if (!f)
		return false;
	bool io = fgets(comm, sizeof(comm), f) && strncmp(comm, "ZMQbg/IO/", 9) == 0;
	(void)fclose(f);
	return io;
}

static void prio_apply(struct prio *p, uint64_t now_ms)
{
	if (!p->want || p->off || now_ms < p->next_ms)
		return;
	p->next_ms = now_ms + PRIO_CHECK_MS;
	DIR *dir = opendir("/proc/self/task");
	if (!dir)
		return;
	size_t n = 0;
	for (struct dirent *e; (e = readdir(dir));)
		n += e->d_name[0] != '.';
	if (n == p->threads) {
		(void)closedir(dir);
		return;
	}
	p->threads = n;
	rewinddir(dir);
	pid_t pid = getpid();
	for (struct dirent *e; (e = readdir(dir));) {
		if (e->d_name[0] == '.')
			continue;
		long tid = atol(e->d_name);
		errno = 0;
		int cur = getpriority(PRIO_PROCESS, (id_t)tid);
		if (cur == -1 && errno)
			continue; /* the thread is gone */
		int want = membership_thread(pid, tid) ? p->want : cur == p->want ? p->base : cur;
		if (want == cur || setpriority(PRIO_PROCESS, (id_t)tid, want) == 0)
			continue;
		if (errno == EACCES || errno == EPERM) {
			log_info("cannot set the membership threads to nice %d (%s): they stay at %d; "
				 "under load, members may be suspected falsely",
				 p->want, strerror(errno), cur);
			p->off = true;
			break;
		}
	}
	(void)closedir(dir);
}

/* Loop health, logged at debug level: an iteration whose work (dispatch + ticks) took longer
 * than LOOP_STALL_US, and a wake-up later than LOOP_LATE_US past the poll timeout (the process
 * was runnable but not scheduled: CPU starvation, not our work). Both delay every probe and ack
 * the gossip core times, so they are what to look at when members are falsely suspected. */
#define LOOP_STALL_US 20000
#define LOOP_LATE_US  20000

static uint64_t now_us(void)
{
	struct timespec ts;
	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* zmq_poll() for items that are all plain fds (the usual case: the mesh gives its sockets'
 * ZMQ_FDs) is one poll() system call; zmq_poll() itself makes two, a non-blocking first pass and
 * then the wait. Socket items (DEALERs holding datagrams, for ZMQ_POLLOUT) go to zmq_poll(). */
static int loop_poll(zmq_pollitem_t *items, int n, long timeout)
{
	struct pollfd fds[POLL_MAX];
	for (int i = 0; i < n; i++) {
		if (items[i].socket)
			return zmq_poll(items, n, timeout);
		short ev = (items[i].events & ZMQ_POLLIN ? POLLIN : 0) |
			   (items[i].events & ZMQ_POLLOUT ? POLLOUT : 0) |
			   (items[i].events & ZMQ_POLLPRI ? POLLPRI : 0);
		fds[i] = (struct pollfd){ .fd = items[i].fd, .events = ev };
	}
	int ready = poll(fds, (nfds_t)n, (int)timeout);
	for (int i = 0; i < n; i++) { /* the mapping zmq_poll() makes */
		short rev = ready > 0 ? fds[i].revents : 0;
		items[i].revents = (short)((rev & POLLIN ? ZMQ_POLLIN : 0) |
					   (rev & POLLOUT ? ZMQ_POLLOUT : 0) |
					   (rev & POLLPRI ? ZMQ_POLLPRI : 0) |
					   (rev & ~(POLLIN | POLLOUT | POLLPRI) ? ZMQ_POLLERR : 0));
	}
	return ready;
}

static void run(struct omxd *d, int sigfd)
{
	bool exiting = false;
	zmq_pollitem_t items[POLL_MAX];
	errno = 0;
	int base = getpriority(PRIO_PROCESS, 0);
	/* started at or below the wanted niceness already (or unknown): leave every thread alone */
	struct prio prio = { .want = d->opts.nice, .base = base,
			     .off = (base == -1 && errno) || base <= d->opts.nice };
	while (!d->stop) {
		d->now_ms = omxd_now_ms();
		prio_apply(&prio, d->now_ms);
		int n = 0, mesh_at = -1, ctl_at;
		if (d->mesh) {
			mesh_at = n;
			gossip_mesh_pollitems(d->mesh, items);
			n += GOSSIP_MESH_POLLITEMS;
		}
		int mfs_at = n;
		items[n++] = (zmq_pollitem_t){ .fd = omxd_mfs_fd(d), .events = ZMQ_POLLIN };
		items[n++] = (zmq_pollitem_t){ .fd = sigfd, .events = ZMQ_POLLIN };
		ctl_at = n;
		n += omxd_ctl_pollitems(d, items + n, POLL_MAX - POLL_OUT_MAX - n);
		int out_at = n;
		if (d->mesh)
			n += gossip_mesh_pollitems_out(d->mesh, items + n, POLL_MAX - n);
		uint64_t dl = omxd_cluster_next_deadline(d);
		uint64_t mdl = omxd_mfs_next_deadline(d);
		dl = mdl < dl ? mdl : dl;
		long timeout = dl > d->now_ms ? (long)(dl - d->now_ms) : 0;
		if (timeout > 1000)
			timeout = 1000;
		uint64_t t_poll = now_us();
		int ready = loop_poll(items, n, timeout);
		if (ready < 0 && errno != EINTR) {
			log_error("zmq_poll: %s", zmq_strerror(errno));
			break;
		}
		uint64_t t_woke = now_us();
		if (ready == 0 && t_woke - t_poll > (uint64_t)timeout * 1000 + LOOP_LATE_US)
			log_debug("loop: woke %llu ms late (timeout %ld ms)",
				  (unsigned long long)(t_woke - t_poll) / 1000 - (unsigned long long)timeout,
				  timeout);
		d->now_ms = omxd_now_ms();
		struct gossip_mesh *mesh = d->mesh; /* handlers may stop the cluster */
		if (mesh_at >= 0 && mesh)
			gossip_mesh_dispatch(mesh, d->now_ms, items + mesh_at);
		if (mesh_at >= 0 && mesh && d->mesh == mesh)
			gossip_mesh_dispatch_out(mesh, d->now_ms, items + out_at, n - out_at);
		uint64_t t_mesh = now_us();
		if (items[mfs_at].revents & ZMQ_POLLIN)
			omxd_mfs_dispatch(d);
		if (items[ctl_at - 1].revents & ZMQ_POLLIN)
			on_signal(d, sigfd, &exiting);
		omxd_ctl_dispatch(d, items + ctl_at, out_at - ctl_at);
		uint64_t t_ctl = now_us();
		omxd_cluster_tick(d);
		uint64_t t_cluster = now_us();
		omxd_mfs_tick(d);
		uint64_t t_end = now_us();
		if (t_end - t_woke > LOOP_STALL_US)
			log_debug("loop: busy %llu ms (mesh %llu, mfs+ctl %llu, cluster %llu, mfs tick "
				  "%llu)",
				  (unsigned long long)(t_end - t_woke) / 1000,
				  (unsigned long long)(t_mesh - t_woke) / 1000,
				  (unsigned long long)(t_ctl - t_mesh) / 1000,
				  (unsigned long long)(t_cluster - t_ctl) / 1000,
				  (unsigned long long)(t_end - t_cluster) / 1000);
		if (exiting && !d->g)
			d->stop = true;
	}
}

int main(int argc, char **argv)
{
	struct omxd *d = calloc(1, sizeof(*d));
	if (!d) {
		fprintf(stderr, "omxd: out of memory\n");
		return 1;
	}
	d->ctl_fd = -1;
	d->join.fd = -1;
	d->leave.fd = -1;
	int rc = parse_args(argc, argv, &d->opts);
	if (rc) {
		free(d);
		return rc == 1 ? 0 : 2;
	}
	rc = 1;
	int sigfd = -1, r;
	/* oMFS moves buffers of up to a few MiB per request through several threads: keep freed
	 * memory in the process (no mmap per buffer, no trimming), or every request pays fresh
	 * page faults on each copy (measured: 1 MiB writes over the mesh 2.5x slower). */
	if (mallopt(M_MMAP_THRESHOLD, 8 << 20) != 1 || mallopt(M_TRIM_THRESHOLD, 64 << 20) != 1)
		log_debug("mallopt refused (a sanitizer's allocator?)");
	if (sodium_init() < 0) {
		log_error("libsodium failed to initialize");
		goto out;
	}
	signal(SIGPIPE, SIG_IGN);
	d->start_ms = d->now_ms = omxd_now_ms();
	if ((r = omxd_state_prepare(d)) < 0) {
		log_error("state dir %s: %s", d->opts.state_dir, strerror(-r));
		goto out;
	}
	bool created = false;
	if ((r = omxsec_identity_load(d->opts.state_dir, &d->id, &created)) < 0) {
		log_error("identity %s/%s: %s%s", d->opts.state_dir, OMXSEC_IDENTITY_FILE,
			  strerror(-r), r == -EPERM ? " (must be a regular file, mode 0600)" : "");
		goto out;
	}
	char pkhex[2 * OMXSEC_SIGN_PK_LEN + 1];
	omxsec_hex(d->id->sign_pk, OMXSEC_SIGN_PK_LEN, pkhex);
	log_info("%s identity %.16s...", created ? "created" : "loaded", pkhex);
	r = omxd_state_load_id(d, &d->node_id);
	if (r < 0 && r != -ENOENT)
		log_warn("ignoring %s/%s: %s", d->opts.state_dir, OMXD_ID_FILE, strerror(-r));
	if (d->opts.node_id) {
		d->node_id = d->opts.node_id;
		if ((r = omxd_state_save_id(d, d->node_id)) < 0)
			log_warn("saving node id: %s", strerror(-r));
	}
	resolve_advertise(d);
	if ((r = omxd_nodeinfo_new(d->opts.name, d->addr, d->opts.accept_guests, &d->ni)) < 0) {
		log_error("node info: %s", strerror(-r));
		goto out;
	}
	omxd_nodeinfo_sample(d->ni, d->now_ms);
	if ((sigfd = open_signals()) < 0) {
		log_error("signals: %s", strerror(-sigfd));
		goto out;
	}
	/* after open_signals: its threads inherit the blocked SIGTERM/SIGINT */
	if ((r = omxd_mfs_new(d)) < 0) {
		log_error("oMFS: %s (check --export)", strerror(-r));
		goto out;
	}
	if ((r = omxd_ctl_open(d)) < 0) {
		log_error("control socket in %s: %s%s", d->opts.state_dir, strerror(-r),
			  r == -EADDRINUSE ? " (another omxd uses this state dir)" : "");
		goto out;
	}
	struct omxsec_clusterkey *k = NULL;
	r = omxd_state_load_key(d, &k);
	if (r == 0) {
		r = omxd_cluster_start(d, &k);
		omxsec_clusterkey_free(&k);
		if (r < 0) {
			log_error("cannot rejoin with the stored cluster key: %s", strerror(-r));
			goto out;
		}
	} else if (r != -ENOENT) {
		log_error("stored cluster key %s/%s unusable: %s; staying idle", d->opts.state_dir,
			  OMXD_KEY_FILE, omxsec_clusterkey_strerror(r));
	} else {
		log_info("no cluster key yet: idle until 'omx join'");
	}
	log_info("omxd %s ready: state %s, listen %s, advertise %s, profile %s",
		 OMX_VERSION_STRING, d->opts.state_dir, d->opts.listen, d->advertise, d->opts.profile);
	run(d, sigfd);
	rc = 0;
out:
	omxd_ctl_close(d);
	omxd_cluster_stop(d);
	omxd_mfs_free(d);
	omxd_nodeinfo_free(&d->ni);
	omxsec_identity_free(&d->id);
	if (sigfd >= 0)
		(void)close(sigfd);
	free(d);
	return rc;
}
