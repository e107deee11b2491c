/* tests/tools/cw_try_open.c - a test's own attempt to read a chain: for
 * every commit of one chain in HOME/log.git, try to open its sealed ops with
 * every generation of the case key HOME's store holds, and print one line
 * per commit: "<commit> key <G> opened" or "<commit> key <G> sealed". Used
 * by tests/scenario/revoke.sh to show that a removed member cannot read
 * what was written after it was removed.
 * Usage: cw_try_open HOME REF   (passphrase in $CASEWAY_PASSPHRASE) */
#include "crypto/seal.h"
#include "crypto/secret.h"
#include "node/case.h"
#include "node/home.h"
#include "sync/log.h"
#include "util/error.h"

#include <git2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int try_commit(cw_store *st, git_repository *repo, const git_oid *oid)
{
	git_commit *c = NULL;
	git_tree *tree = NULL;
	git_blob *blob = NULL;
	const git_tree_entry *e;
	cw_log_message msg;
	uint8_t ctx[6 + CW_ID_BYTES + CW_AUTHOR_BYTES];
	uint32_t g;
	int opened = 0;
	char hex[GIT_OID_HEXSZ + 1];

	git_oid_tostr(hex, sizeof(hex), oid);
	if (git_commit_lookup(&c, repo, oid) < 0 || git_commit_tree(&tree, c) < 0 ||
	    (e = git_tree_entry_byname(tree, "ops")) == NULL ||
	    git_blob_lookup(&blob, repo, git_tree_entry_id(e)) < 0 ||
	    cw_log_parse_message(&msg, git_commit_message(c), strlen(git_commit_message(c))) < 0) {
		fprintf(stderr, "cw_try_open: commit %s cannot be read\n", hex);
		return -1;
	}
	memcpy(ctx, "cw-ops", 6);
	memcpy(ctx + 6, msg.case_id, CW_ID_BYTES);
	memcpy(ctx + 6 + CW_ID_BYTES, msg.author, CW_AUTHOR_BYTES);
	/* every key this node holds, whatever the commit claims */
	for (g = UINT32_MAX; !opened;) {
		cw_secret *key = NULL;
		cw_buf plain = CW_BUF_INIT;

		if (cw_case_key_below(&key, &g, st, msg.case_id, g) < 0)
			break;
		opened = cw_seal_open(&plain, key, ctx, sizeof(ctx), git_blob_rawcontent(blob),
		                      (size_t)git_blob_rawsize(blob)) == CW_OK;
		cw_buf_dispose(&plain);
		cw_secret_free(key);
	}
	cw_error_clear();
	printf("%s key %u %s\n", hex, (unsigned)msg.generation, opened ? "opened" : "sealed");
	git_blob_free(blob);
	git_tree_free(tree);
	git_commit_free(c);
	return 0;
}

int main(int argc, char **argv)
{
	const char *pass = getenv("CASEWAY_PASSPHRASE");
	cw_home *h = NULL;
	git_repository *repo = NULL;
	git_revwalk *walk = NULL;
	git_oid oid;
	char path[4096];
	int rc = 1;

	if (argc != 3 || pass == NULL) {
		fprintf(stderr, "usage: CASEWAY_PASSPHRASE=... cw_try_open HOME REF\n");
		return 2;
	}
	if (cw_secret_startup() < 0)
		return 1;
	git_libgit2_init();
	snprintf(path, sizeof(path), "%s/log.git", argv[1]);
	if (cw_home_open(&h, argv[1], pass, strlen(pass)) < 0) {
		fprintf(stderr, "cw_try_open: %s\n", cw_error_last());
		goto done;
	}
	if (git_repository_open_bare(&repo, path) < 0 || git_revwalk_new(&walk, repo) < 0 ||
	    git_revwalk_push_ref(walk, argv[2]) < 0) {
		fprintf(stderr, "cw_try_open: no chain %s in %s\n", argv[2], path);
		goto done;
	}
	git_revwalk_sorting(walk, GIT_SORT_TOPOLOGICAL | GIT_SORT_REVERSE);
	git_revwalk_simplify_first_parent(walk);
	rc = 0;
	while (git_revwalk_next(&oid, walk) == 0)
		if (try_commit(cw_home_store(h), repo, &oid) < 0)
			rc = 1;
done:
	git_revwalk_free(walk);
	git_repository_free(repo);
	cw_home_free(h);
	git_libgit2_shutdown();
	return rc;
}
