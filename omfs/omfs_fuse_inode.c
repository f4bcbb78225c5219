/* omfs_fuse_inode.c - node ids <-> (parent, name) for the FUSE front. See omfs_fuse_int.h.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "omfs/omfs_fuse_int.h"

#define NBUCKETS 65536

int ft_init(struct ftable *t)
{
	memset(t, 0, sizeof(*t));
	t->buckets = calloc(NBUCKETS, sizeof(*t->buckets));
	if (!t->buckets)
		return -ENOMEM;
	t->nbuckets = NBUCKETS;
	pthread_mutex_init(&t->lock, NULL);
	t->root.kind = FK_ROOT;
	t->root.nlookup = 1;
	return 0;
}

void ft_destroy(struct ftable *t)
{
	if (!t->buckets)
		return;
	for (size_t i = 0; i < t->nbuckets; i++) {
		struct fnode *n = t->buckets[i];
		while (n) {
			struct fnode *next = n->hnext;
			free(n->name);
			free(n);
			n = next;
		}
	}
	/* detached nodes still referenced by the kernel die with the mount; the kernel sends
	 * no forgets after unmount, so they are unreachable here and freed with the process */
	free(t->buckets);
	t->buckets = NULL;
	pthread_mutex_destroy(&t->lock);
}

struct fnode *ft_node(struct ftable *t, fuse_ino_t ino)
{
	return ino == FUSE_ROOT_ID ? &t->root : (struct fnode *)(uintptr_t)ino;
}

fuse_ino_t ft_ino(struct ftable *t, struct fnode *n)
{
	return n == &t->root ? FUSE_ROOT_ID : (fuse_ino_t)(uintptr_t)n;
}

static size_t hash(const struct ftable *t, const struct fnode *parent, const char *name)
{
	uint64_t h = 1469598103934665603ull ^ (uint64_t)(uintptr_t)parent;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		h = (h ^ *p) * 1099511628211ull;
	return (size_t)(h ^ (h >> 29)) & (t->nbuckets - 1);
}

static struct fnode **find_slot(struct ftable *t, struct fnode *parent, const char *name)
{
	struct fnode **pp = &t->buckets[hash(t, parent, name)];
	while (*pp && ((*pp)->parent != parent || strcmp((*pp)->name, name) != 0))
		pp = &(*pp)->hnext;
	return pp;
}

static void unhash(struct ftable *t, struct fnode *n)
{
	if (!n->hashed)
		return;
	struct fnode **pp = find_slot(t, n->parent, n->name);
	if (*pp == n)
		*pp = n->hnext;
	n->hashed = 0;
	n->hnext = NULL;
}

static void hash_in(struct ftable *t, struct fnode *n)
{
	struct fnode **pp = &t->buckets[hash(t, n->parent, n->name)];
	n->hnext = *pp;
	*pp = n;
	n->hashed = 1;
}

/* Frees n and then any ancestor that this leaves unreferenced. */
static void maybe_free(struct ftable *t, struct fnode *n)
{
	while (n && n != &t->root && n->nlookup == 0 && n->nchildren == 0) {
		struct fnode *parent = n->parent;
		unhash(t, n);
		free(n->name);
		free(n);
		t->count--;
		if (parent)
			parent->nchildren--;
		n = parent;
	}
}

struct fnode *ft_ref_child(struct ftable *t, struct fnode *parent, const char *name,
			   enum fkind kind, uint32_t node)
{
	pthread_mutex_lock(&t->lock);
	struct fnode **pp = find_slot(t, parent, name);
	struct fnode *n = *pp;
	if (!n) {
		n = calloc(1, sizeof(*n));
		char *dup = n ? strdup(name) : NULL;
		if (!dup) {
			free(n);
			pthread_mutex_unlock(&t->lock);
			return NULL;
		}
		n->name = dup;
		n->parent = parent;
		n->kind = kind;
		n->node = node;
		parent->nchildren++;
		hash_in(t, n);
		t->count++;
	}
	n->nlookup++;
	pthread_mutex_unlock(&t->lock);
	return n;
}

void ft_forget(struct ftable *t, struct fnode *n, uint64_t count)
{
	if (n == &t->root)
		return;
	pthread_mutex_lock(&t->lock);
	n->nlookup = count >= n->nlookup ? 0 : n->nlookup - count;
	maybe_free(t, n);
	pthread_mutex_unlock(&t->lock);
}

int ft_path(struct ftable *t, struct fnode *n, const char *name, char *buf, size_t size)
{
	const char *parts[512];
	size_t np = 0, len = 0;
	int rc = 0;
	pthread_mutex_lock(&t->lock);
	if (n->kind != FK_NODE && n->kind != FK_FILE) {
		rc = -EINVAL;
		goto out;
	}
	if (name)
		parts[np++] = name;
	for (struct fnode *p = n; p->kind == FK_FILE; p = p->parent) {
		if (!p->hashed || np == 512) {
			rc = np == 512 ? -ENAMETOOLONG : -ENOENT;
			goto out;
		}
		parts[np++] = p->name;
	}
	if (np == 0) {
		if (size < 2) {
			rc = -ENAMETOOLONG;
			goto out;
		}
		strcpy(buf, "/");
		goto out;
	}
	while (np) {
		const char *s = parts[--np];
		size_t l = strlen(s);
		if (len + 1 + l + 1 > size) {
			rc = -ENAMETOOLONG;
			goto out;
		}
		buf[len++] = '/';
		memcpy(buf + len, s, l);
		len += l;
	}
	buf[len] = '\0';
out:
	pthread_mutex_unlock(&t->lock);
	return rc;
}

void ft_detach(struct ftable *t, struct fnode *parent, const char *name)
{
	pthread_mutex_lock(&t->lock);
	struct fnode *n = *find_slot(t, parent, name);
	if (n)
		unhash(t, n);
	pthread_mutex_unlock(&t->lock);
}

/* Moves n to (np, name); takes ownership of name. */
static void move_node(struct ftable *t, struct fnode *n, struct fnode *np, char *name)
{
	struct fnode *old = n->parent;
	unhash(t, n);
	free(n->name);
	n->name = name;
	n->parent = np;
	np->nchildren++;
	old->nchildren--;
	hash_in(t, n);
	maybe_free(t, old);
}

void ft_rename(struct ftable *t, struct fnode *p1, const char *n1, struct fnode *p2,
	       const char *n2, int exchange)
{
	char *name1 = strdup(n2), *name2 = strdup(n1);
	pthread_mutex_lock(&t->lock);
	struct fnode *a = *find_slot(t, p1, n1);
	struct fnode *b = *find_slot(t, p2, n2);
	if (!name1 || !name2) {
		/* cannot record the new names: forget both, the kernel looks them up again */
		if (a)
			unhash(t, a);
		if (b)
			unhash(t, b);
		free(name1);
		free(name2);
		pthread_mutex_unlock(&t->lock);
		return;
	}
	if (b) {
		unhash(t, b);
		if (!exchange) {
			free(name2);
			name2 = NULL;
		}
	} else {
		free(name2);
		name2 = NULL;
	}
	if (a)
		move_node(t, a, p2, name1);
	else
		free(name1);
	if (b && exchange && name2)
		move_node(t, b, p1, name2);
	else if (b)
		maybe_free(t, b);
	pthread_mutex_unlock(&t->lock);
}

/* Under t->lock: the child (parent, name) of name length len, or NULL. */
static struct fnode *child_locked(struct ftable *t, struct fnode *parent, const char *name,
				  size_t len)
{
	char buf[NAME_MAX + 1];
	if (len == 0 || len > NAME_MAX)
		return NULL;
	memcpy(buf, name, len);
	buf[len] = '\0';
	return *find_slot(t, parent, buf);
}

int ft_resolve(struct ftable *t, uint32_t node, const char *path, fuse_ino_t *ret_parent,
	       fuse_ino_t *ret_ino, const char **ret_name)
{
	*ret_parent = *ret_ino = 0;
	*ret_name = NULL;
	if (path[0] != '/')
		return -EINVAL;
	char id[16];
	int idl = snprintf(id, sizeof(id), "%u", node);
	pthread_mutex_lock(&t->lock);
	struct fnode *parent = &t->root, *cur = child_locked(t, &t->root, id, (size_t)idl);
	const char *p = path, *last = NULL;
	while (cur) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		const char *e = strchr(p, '/');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		parent = cur;
		last = p;
		cur = child_locked(t, cur, p, len);
		p += len;
		if (*p && !cur)
			parent = NULL; /* an ancestor is not known: neither is anything below it */
	}
	if (parent && last) {
		*ret_parent = ft_ino(t, parent);
		*ret_name = last;
	}
	if (cur) {
		*ret_ino = ft_ino(t, cur);
		__atomic_store_n(&cur->noxattr_until_ms, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&cur->nocap_until_ms, 0, __ATOMIC_RELAXED);
	}
	pthread_mutex_unlock(&t->lock);
	return 0;
}

size_t ft_nodes_of(struct ftable *t, uint32_t node, fuse_ino_t *ids, size_t max)
{
	size_t n = 0;
	pthread_mutex_lock(&t->lock);
	for (size_t b = 0; b < t->nbuckets && n < max; b++)
		for (struct fnode *x = t->buckets[b]; x && n < max; x = x->hnext)
			if ((x->kind == FK_NODE || x->kind == FK_FILE) && x->node == node) {
				ids[n++] = ft_ino(t, x);
				__atomic_store_n(&x->noxattr_until_ms, 0, __ATOMIC_RELAXED);
				__atomic_store_n(&x->nocap_until_ms, 0, __ATOMIC_RELAXED);
			}
	pthread_mutex_unlock(&t->lock);
	return n;
}
