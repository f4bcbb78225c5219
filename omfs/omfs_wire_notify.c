/* omfs_wire_notify.c - the change list a server sends its recent clients (proto Notify, the
 * payload of a MeshFrame of kind OMFS_FRAME_NOTIFY): building it, encoding, decoding.
 * The decoder checks what the receiver relies on (server-absolute paths without NUL, known
 * bits, bounded count) and has a fuzz target (tests/fuzz/fuzz_omfs_frame.c). */
#include "omfs/omfs_wire.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "omfs/omfs_wire_int.h"
#include "proto/omfs.pb-c.h"

static int change_path_ok(const uint8_t *p, size_t len)
{
	return len > 0 && len < PATH_MAX && p[0] == '/' && memchr(p, 0, len) == NULL;
}

static void notify_all(struct omfs_notify *nt)
{
	for (size_t i = 0; i < nt->n; i++)
		free(nt->c[i].path);
	free(nt->c);
	nt->c = NULL;
	nt->n = nt->cap = 0;
	nt->all = 1;
}

void omfs_notify_add(struct omfs_notify *nt, const char *path, size_t len, uint32_t what)
{
	if (nt->all)
		return;
	if (!change_path_ok((const uint8_t *)path, len) || (what & ~OMFS_CHG_ALL_) || !what) {
		notify_all(nt);
		return;
	}
	for (size_t i = 0; i < nt->n; i++)
		if (strlen(nt->c[i].path) == len && memcmp(nt->c[i].path, path, len) == 0) {
			nt->c[i].what |= what;
			return;
		}
	if (nt->n == OMFS_MAX_CHANGES) {
		notify_all(nt);
		return;
	}
	if (nt->n == nt->cap) {
		size_t cap = nt->cap ? 2 * nt->cap : 4;
		struct omfs_change *c = realloc(nt->c, cap * sizeof(*c));
		if (!c) {
			notify_all(nt);
			return;
		}
		nt->c = c;
		nt->cap = cap;
	}
	char *s = strndup(path, len);
	if (!s) {
		notify_all(nt);
		return;
	}
	nt->c[nt->n++] = (struct omfs_change){s, what};
}

void omfs_notify_clear(struct omfs_notify *nt)
{
	notify_all(nt);
	nt->all = 0;
}

int omfs_wire_notify_encode(const struct omfs_notify *nt, uint8_t **ret_buf, size_t *ret_len)
{
	Omfs__Notify m = OMFS__NOTIFY__INIT;
	size_t n = nt->all ? 0 : nt->n;
	Omfs__Change *cs = calloc(n ? n : 1, sizeof(*cs));
	Omfs__Change **cp = calloc(n ? n : 1, sizeof(*cp));
	int rc = -ENOMEM;
	if (!cs || !cp)
		goto out;
	for (size_t i = 0; i < n; i++) {
		cs[i] = (Omfs__Change)OMFS__CHANGE__INIT;
		cs[i].path.data = (uint8_t *)nt->c[i].path;
		cs[i].path.len = strlen(nt->c[i].path);
		cs[i].what = nt->c[i].what;
		cp[i] = &cs[i];
	}
	m.n_changes = n;
	m.changes = cp;
	m.all = nt->all != 0;
	rc = omfs_wire_pack(&m.base, ret_buf, ret_len);
out:
	free(cs);
	free(cp);
	return rc;
}

int omfs_wire_notify_decode(const uint8_t *buf, size_t len, struct omfs_notify *ret)
{
	memset(ret, 0, sizeof(*ret));
	Omfs__Notify *m = omfs__notify__unpack(NULL, len, buf);
	if (!m)
		return -EBADMSG;
	int rc = m->n_changes > OMFS_MAX_CHANGES || (m->all && m->n_changes) ? -EBADMSG : 0;
	for (size_t i = 0; rc == 0 && i < m->n_changes; i++) {
		const Omfs__Change *c = m->changes[i];
		if (!change_path_ok(c->path.data, c->path.len) || !c->what ||
		    (c->what & ~OMFS_CHG_ALL_))
			rc = -EBADMSG;
	}
	if (rc == 0 && m->n_changes) {
		ret->c = calloc(m->n_changes, sizeof(*ret->c));
		if (!ret->c)
			rc = -ENOMEM;
		ret->cap = m->n_changes;
	}
	for (size_t i = 0; rc == 0 && i < m->n_changes; i++) {
		ret->c[i].path =
		    strndup((const char *)m->changes[i]->path.data, m->changes[i]->path.len);
		if (!ret->c[i].path)
			rc = -ENOMEM;
		ret->c[i].what = m->changes[i]->what;
		ret->n = i + 1;
	}
	ret->all = rc == 0 && m->all;
	omfs__notify__free_unpacked(m, NULL);
	if (rc < 0)
		omfs_notify_clear(ret);
	return rc;
}
