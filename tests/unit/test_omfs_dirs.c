/* test_omfs_dirs.c - what a client knows directories do not hold (omfs/omfs_dirs.h): a
 * directory it created starts empty and follows its own changes, for its creator only and until
 * a fixed end; reports, doubt, renames of the directory or above it, its node going away, and
 * the end forget it; a report that crossed the creating request keeps it unknown; the size
 * bounds hold. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "omfs/omfs_dirs.h"

#define TTL 10000

static struct omfs_dirs *mk(size_t dirs, size_t names)
{
	struct omfs_dirs *d = NULL;
	assert_int_equal(omfs_dirs_new(dirs, names, &d), 0);
	return d;
}

static void test_follows_own_changes(void **state)
{
	(void)state;
	struct omfs_dirs *d = mk(8, 100);
	assert_false(omfs_dirs_absent(d, 2, "/e/d/x", 1000, 10)); /* nothing known yet */
	omfs_dirs_created(d, 2, "/e/d", 1000, omfs_dirs_gen(d, 2), 1000 + TTL);
	assert_true(omfs_dirs_absent(d, 2, "/e/d/x", 1000, 1000));
	assert_false(omfs_dirs_absent(d, 3, "/e/d/x", 1000, 1000)); /* another node's /e/d */
	assert_false(omfs_dirs_absent(d, 2, "/e/x", 1000, 1000));   /* its parent is not known */
	assert_false(omfs_dirs_absent(d, 2, "/e/d", 1000, 1000)); /* nor is the directory itself */
	omfs_dirs_added(d, 2, "/e/d/x", 2000);
	assert_false(omfs_dirs_absent(d, 2, "/e/d/x", 1000, 2000));
	assert_true(omfs_dirs_absent(d, 2, "/e/d/y", 1000, 2000));
	for (int i = 0; i < 50; i++) { /* past the first table size */
		char p[64];
		snprintf(p, sizeof(p), "/e/d/f%d", i);
		omfs_dirs_added(d, 2, p, 2000);
	}
	assert_false(omfs_dirs_absent(d, 2, "/e/d/f49", 1000, 2000));
	assert_false(omfs_dirs_absent(d, 2, "/e/d/f0", 1000, 2000));
	omfs_dirs_removed(d, 2, "/e/d/x", 3000);
	assert_true(omfs_dirs_absent(d, 2, "/e/d/x", 1000, 3000));
	assert_false(omfs_dirs_absent(d, 2, "/e/d/x", 0, 3000)); /* not its creator */
	char longname[300] = "/e/d/";
	memset(longname + 5, 'n', 280);
	assert_false(omfs_dirs_absent(d, 2, longname, 1000, 3000)); /* ENAMETOOLONG: server's */
	/* a fixed end: own changes do not move it on */
	assert_true(omfs_dirs_absent(d, 2, "/e/d/x", 1000, 10999));
	assert_false(omfs_dirs_absent(d, 2, "/e/d/x", 1000, 11000));
	assert_int_equal(omfs_dirs_count(d), 0);
	/* removing a name the set did not hold: the set was wrong */
	omfs_dirs_created(d, 2, "/e/r", 1000, omfs_dirs_gen(d, 2), 20000);
	omfs_dirs_removed(d, 2, "/e/r/ghost", 12000);
	assert_false(omfs_dirs_absent(d, 2, "/e/r/y", 1000, 12000));
	omfs_dirs_free(&d);
	assert_null(d);
}

static void test_reports_forget(void **state)
{
	(void)state;
	struct omfs_dirs *d = mk(8, 100);
	uint64_t g = omfs_dirs_gen(d, 2);
	omfs_dirs_created(d, 2, "/e/a", 1000, g, TTL);
	omfs_dirs_created(d, 2, "/e/a/sub", 1000, g, TTL);
	omfs_dirs_created(d, 2, "/e/ab", 1000, g, TTL);
	omfs_dirs_created(d, 2, "/e/b", 1000, g, TTL);
	/* a name changed in /e/b (somebody else created or removed it) */
	omfs_dirs_changed(d, 2, "/e/b/n");
	assert_false(omfs_dirs_absent(d, 2, "/e/b/n", 1000, 0));
	assert_true(omfs_dirs_absent(d, 2, "/e/a/n", 1000, 0));
	/* /e/a itself renamed or removed: it and what is below it, not its neighbour /e/ab */
	omfs_dirs_changed(d, 2, "/e/a");
	assert_false(omfs_dirs_absent(d, 2, "/e/a/n", 1000, 0));
	assert_false(omfs_dirs_absent(d, 2, "/e/a/sub/n", 1000, 0));
	assert_true(omfs_dirs_absent(d, 2, "/e/ab/n", 1000, 0));
	/* a report that crossed the request creating a directory: not known */
	g = omfs_dirs_gen(d, 2);
	omfs_dirs_changed(d, 2, "/elsewhere/x");
	omfs_dirs_created(d, 2, "/e/c", 1000, g, TTL);
	assert_false(omfs_dirs_absent(d, 2, "/e/c/n", 1000, 0));
	/* a report about another node crossing it does not stop it */
	g = omfs_dirs_gen(d, 2);
	omfs_dirs_changed(d, 3, "/e/d");
	omfs_dirs_created(d, 2, "/e/d", 1000, g, TTL);
	assert_true(omfs_dirs_absent(d, 2, "/e/d/n", 1000, 0));
	/* the node: everything of it, nothing of another */
	g = omfs_dirs_gen(d, 3);
	omfs_dirs_created(d, 3, "/e/a", 1000, g, TTL);
	omfs_dirs_forget_node(d, 2);
	assert_false(omfs_dirs_absent(d, 2, "/e/ab/n", 1000, 0));
	assert_true(omfs_dirs_absent(d, 3, "/e/a/n", 1000, 0));
	/* the tree of "/" is everything of the node */
	omfs_dirs_forget_tree(d, 3, "/");
	assert_int_equal(omfs_dirs_count(d), 0);
	/* doubt about a parent */
	g = omfs_dirs_gen(d, 2);
	omfs_dirs_created(d, 2, "/q", 1000, g, TTL);
	omfs_dirs_forget_parent(d, 2, "/q/whatever");
	assert_false(omfs_dirs_absent(d, 2, "/q/n", 1000, 0));
	omfs_dirs_free(&d);
}

static void test_bounds(void **state)
{
	(void)state;
	struct omfs_dirs *d = mk(2, 3);
	uint64_t g = omfs_dirs_gen(d, 2);
	omfs_dirs_created(d, 2, "/a", 1000, g, 5000);
	omfs_dirs_created(d, 2, "/b", 1000, g, 9000);
	omfs_dirs_created(d, 2, "/c", 1000, g, 9000); /* full: /a, whose window ends first, goes */
	assert_false(omfs_dirs_absent(d, 2, "/a/n", 1000, 0));
	assert_true(omfs_dirs_absent(d, 2, "/b/n", 1000, 0));
	assert_true(omfs_dirs_absent(d, 2, "/c/n", 1000, 0));
	omfs_dirs_added(d, 2, "/b/1", 0);
	omfs_dirs_added(d, 2, "/b/2", 0);
	omfs_dirs_added(d, 2, "/b/3", 0);
	omfs_dirs_added(d, 2, "/b/2", 0); /* again: no new name */
	assert_true(omfs_dirs_absent(d, 2, "/b/n", 1000, 0));
	omfs_dirs_added(d, 2, "/b/4", 0); /* one too many: not known any more */
	assert_false(omfs_dirs_absent(d, 2, "/b/n", 1000, 0));
	/* relative or empty names are never known absent */
	omfs_dirs_created(d, 2, "rel", 1000, g, 9000);
	assert_false(omfs_dirs_absent(d, 2, "rel/n", 1000, 0));
	assert_false(omfs_dirs_absent(d, 2, "/c/", 1000, 0));
	omfs_dirs_free(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_follows_own_changes),
	    cmocka_unit_test(test_reports_forget),
	    cmocka_unit_test(test_bounds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
