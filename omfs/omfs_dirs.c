/* omfs_dirs.c - directories whose every name this client knows (omfs_dirs.h).
 *
 * A small table of directories (linear search: a few dozen at most are in use at once), each
 * with a chained hash set of its names. One mutex guards everything; every call is short.
 */
#include "omfs/omfs_dirs.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct name {
	struct name *next;
	char s[]; /* NUL-terminated */
};

struct dir {
	char *path; /* NULL: a free slot */
	uint32_t node, uid;
	int64_t until_ms;
	struct name **b;
	size_t nb, count;
};

struct omfs_dirs {
	pthread_mutex_t lock;
	struct dir *dirs;
	size_t max_dirs, max_names;
	uint64_t gen[OMFS_DIRS_GENS]; /* per node id, modulo */
};

static uint64_t hash(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
	return h;
}

static void dir_clear(struct dir *x)
{
	for (size_t i = 0; i < x->nb; i++) {
		struct name *n = x->b[i];
		while (n) {
			struct name *nx = n->next;
			free(n);
			n = nx;
		}
	}
	free(x->b);
	free(x->path);
	memset(x, 0, sizeof(*x));
}

int omfs_dirs_new(size_t max_dirs, size_t max_names, struct omfs_dirs **ret)
{
	struct omfs_dirs *d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->dirs = calloc(max_dirs ? max_dirs : 1, sizeof(*d->dirs));
	if (!d->dirs || pthread_mutex_init(&d->lock, NULL) != 0) {
		free(d->dirs);
		free(d);
		return -ENOMEM;
	}
	d->max_dirs = max_dirs ? max_dirs : 1;
	d->max_names = max_names;
	*ret = d;
	return 0;
}

void omfs_dirs_free(struct omfs_dirs **pd)
{
	if (!pd || !*pd)
		return;
	struct omfs_dirs *d = *pd;
	for (size_t i = 0; i < d->max_dirs; i++)
		dir_clear(&d->dirs[i]);
	free(d->dirs);
	pthread_mutex_destroy(&d->lock);
	free(d);
	*pd = NULL;
}

/* Splits an absolute path into its directory (length; "/" for a top-level name) and name. */
static int split(const char *path, size_t *dlen, const char **name)
{
	const char *slash = path[0] == '/' ? strrchr(path, '/') : NULL;
	if (!slash || !slash[1])
		return -1;
	*dlen = slash == path ? 1 : (size_t)(slash - path);
	*name = slash + 1;
	return 0;
}

static struct dir *find_locked(struct omfs_dirs *d, uint32_t node, const char *dir, size_t dlen)
{
	for (size_t i = 0; i < d->max_dirs; i++) {
		struct dir *x = &d->dirs[i];
		if (x->path && x->node == node && strlen(x->path) == dlen &&
		    memcmp(x->path, dir, dlen) == 0)
			return x;
	}
	return NULL;
}

/* The known directory holding `path`, if it is still valid at now_ms (else forgotten). */
static struct dir *parent_locked(struct omfs_dirs *d, uint32_t node, const char *path,
				 const char **name, int64_t now_ms)
{
	size_t dlen;
	if (split(path, &dlen, name) < 0)
		return NULL;
	struct dir *x = find_locked(d, node, path, dlen);
	if (x && x->until_ms <= now_ms) {
		dir_clear(x);
		return NULL;
	}
	return x;
}

static struct name **slot(struct dir *x, const char *s)
{
	struct name **p = &x->b[hash(s, strlen(s)) & (x->nb - 1)];
	while (*p && strcmp((*p)->s, s) != 0)
		p = &(*p)->next;
	return p;
}

static int grow(struct dir *x)
{
	size_t nb = x->nb ? x->nb * 2 : 16;
	struct name **b = calloc(nb, sizeof(*b));
	if (!b)
		return -1;
	for (size_t i = 0; i < x->nb; i++) {
		struct name *n = x->b[i];
		while (n) {
			struct name *nx = n->next;
			size_t k = hash(n->s, strlen(n->s)) & (nb - 1);
			n->next = b[k];
			b[k] = n;
			n = nx;
		}
	}
	free(x->b);
	x->b = b;
	x->nb = nb;
	return 0;
}

uint64_t omfs_dirs_gen(struct omfs_dirs *d, uint32_t node)
{
	pthread_mutex_lock(&d->lock);
	uint64_t g = d->gen[node % OMFS_DIRS_GENS];
	pthread_mutex_unlock(&d->lock);
	return g;
}

void omfs_dirs_created(struct omfs_dirs *d, uint32_t node, const char *path, uint32_t uid,
		       uint64_t gen, int64_t until_ms)
{
	if (path[0] != '/')
		return;
	char *copy = strdup(path);
	if (!copy)
		return;
	pthread_mutex_lock(&d->lock);
	if (gen != d->gen[node % OMFS_DIRS_GENS]) { /* a report about the node crossed the
						     * request: what it said may be missing */
		pthread_mutex_unlock(&d->lock);
		free(copy);
		return;
	}
	struct dir *x = find_locked(d, node, path, strlen(path));
	for (size_t i = 0; !x && i < d->max_dirs; i++)
		if (!d->dirs[i].path)
			x = &d->dirs[i];
	if (!x) { /* full: the one whose time ends first goes */
		x = &d->dirs[0];
		for (size_t i = 1; i < d->max_dirs; i++)
			if (d->dirs[i].until_ms < x->until_ms)
				x = &d->dirs[i];
	}
	dir_clear(x); /* (a directory made again under a known name starts empty too) */
	x->path = copy;
	x->node = node;
	x->uid = uid;
	x->until_ms = until_ms;
	pthread_mutex_unlock(&d->lock);
}

int omfs_dirs_absent(struct omfs_dirs *d, uint32_t node, const char *path, uint32_t uid,
		     int64_t now_ms)
{
	const char *name;
	pthread_mutex_lock(&d->lock);
	struct dir *x = parent_locked(d, node, path, &name, now_ms);
	/* only for its creator (another user may not be allowed to search it: the server says),
	 * and only for a name the server would look for (NAME_MAX) */
	int absent = x && x->uid == uid && strlen(name) <= 255 && (!x->nb || !*slot(x, name));
	pthread_mutex_unlock(&d->lock);
	return absent;
}

/* Adds name to x; -1 when it cannot (then x should be forgotten). */
static int add_name(struct omfs_dirs *d, struct dir *x, const char *name)
{
	if (x->nb && *slot(x, name))
		return 0;
	if (x->count >= d->max_names || (x->count >= x->nb && grow(x) < 0))
		return -1;
	size_t len = strlen(name);
	struct name *n = malloc(sizeof(*n) + len + 1);
	if (!n)
		return -1;
	memcpy(n->s, name, len + 1);
	struct name **p = slot(x, name);
	n->next = NULL;
	*p = n;
	x->count++;
	return 0;
}

static void del_name(struct dir *x, const char *name)
{
	struct name **p = x->nb ? slot(x, name) : NULL;
	if (p && *p) {
		struct name *n = *p;
		*p = n->next;
		free(n);
		x->count--;
	}
}

void omfs_dirs_added(struct omfs_dirs *d, uint32_t node, const char *path, int64_t sent_ms)
{
	const char *name;
	pthread_mutex_lock(&d->lock);
	struct dir *x = parent_locked(d, node, path, &name, sent_ms);
	if (x && add_name(d, x, name) < 0)
		dir_clear(x);
	pthread_mutex_unlock(&d->lock);
}

void omfs_dirs_removed(struct omfs_dirs *d, uint32_t node, const char *path, int64_t sent_ms)
{
	const char *name;
	pthread_mutex_lock(&d->lock);
	struct dir *x = parent_locked(d, node, path, &name, sent_ms);
	if (x && (!x->nb || !*slot(x, name)))
		dir_clear(x); /* it held a name not in the set: the set was wrong */
	else if (x)
		del_name(x, name);
	pthread_mutex_unlock(&d->lock);
}

static void forget_parent_locked(struct omfs_dirs *d, uint32_t node, const char *path)
{
	const char *name;
	size_t dlen;
	if (split(path, &dlen, &name) == 0) {
		struct dir *x = find_locked(d, node, path, dlen);
		if (x)
			dir_clear(x);
	}
}

static void forget_tree_locked(struct omfs_dirs *d, uint32_t node, const char *path)
{
	size_t len = strlen(path);
	while (len > 1 && path[len - 1] == '/')
		len--;
	for (size_t i = 0; i < d->max_dirs; i++) {
		struct dir *x = &d->dirs[i];
		if (!x->path || x->node != node || strncmp(x->path, path, len) != 0)
			continue;
		/* path itself, or below it ("/" is above everything) */
		if (x->path[len] == '\0' || x->path[len] == '/' || (len == 1 && path[0] == '/'))
			dir_clear(x);
	}
}

void omfs_dirs_forget_parent(struct omfs_dirs *d, uint32_t node, const char *path)
{
	pthread_mutex_lock(&d->lock);
	forget_parent_locked(d, node, path);
	pthread_mutex_unlock(&d->lock);
}

void omfs_dirs_forget_tree(struct omfs_dirs *d, uint32_t node, const char *path)
{
	pthread_mutex_lock(&d->lock);
	forget_tree_locked(d, node, path);
	pthread_mutex_unlock(&d->lock);
}

void omfs_dirs_changed(struct omfs_dirs *d, uint32_t node, const char *path)
{
	pthread_mutex_lock(&d->lock);
	d->gen[node % OMFS_DIRS_GENS]++;
	forget_parent_locked(d, node, path);
	forget_tree_locked(d, node, path);
	pthread_mutex_unlock(&d->lock);
}

void omfs_dirs_forget_node(struct omfs_dirs *d, uint32_t node)
{
	pthread_mutex_lock(&d->lock);
	d->gen[node % OMFS_DIRS_GENS]++;
	for (size_t i = 0; i < d->max_dirs; i++)
		if (d->dirs[i].path && d->dirs[i].node == node)
			dir_clear(&d->dirs[i]);
	pthread_mutex_unlock(&d->lock);
}

size_t omfs_dirs_count(struct omfs_dirs *d)
{
	size_t n = 0;
	pthread_mutex_lock(&d->lock);
	for (size_t i = 0; i < d->max_dirs; i++)
		n += d->dirs[i].path != NULL;
	pthread_mutex_unlock(&d->lock);
	return n;
}
