/* node/home.c - the node home: init, unlock, passwd. */
#include "home.h"
#include "../util/error.h"
#include "../util/file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define KEYSTORE_CAP 4096

struct cw_home {
	char *dir;
	cw_keys *keys;
	cw_store *store;
	char name[CW_NAME_MAX + 1];
	cw_role role;
	int64_t created_at;
};

int cw_home_locate(char **out, const char *flag)
{
	const char *dir = flag, *home;

	*out = NULL;
	if (dir == NULL || *dir == '\0')
		dir = getenv("CASEWAY_HOME");
	if (dir == NULL || *dir == '\0') {
		if ((home = getenv("HOME")) == NULL || *home == '\0')
			return cw_error(CW_EINVALID, "no home folder: use --home DIR or set CASEWAY_HOME");
		if ((*out = cw_path_join(home, ".caseway")) == NULL)
			return cw_error_nomem();
		return CW_OK;
	}
	if ((*out = strdup(dir)) == NULL)
		return cw_error_nomem();
	return CW_OK;
}

char *cw_home_file(const cw_home *h, const char *name)
{
	return cw_path_join(h->dir, name);
}

static int open_store(cw_home *h, unsigned flags)
{
	cw_secret *page_key = NULL;
	char *path = NULL;
	int error;

	if ((path = cw_home_file(h, "store.db")) == NULL) {
		error = cw_error_nomem();
		goto done;
	}
	if ((error = cw_keys_subkey(&page_key, h->keys, CW_SUBKEY_STORE)) < 0 ||
	    (error = cw_store_open(&h->store, path, page_key, flags)) < 0)
		goto done;
done:
	cw_secret_free(page_key);
	free(path);
	return error;
}

static int load_identity(cw_home *h)
{
	char role[32], created[32];
	cw_role r;
	int error;

	if ((error = cw_store_meta_text(h->store, "node.name", h->name, sizeof(h->name))) < 0 ||
	    (error = cw_store_meta_text(h->store, "node.role", role, sizeof(role))) < 0 ||
	    (error = cw_store_meta_text(h->store, "node.created_at", created, sizeof(created))) < 0)
		return error == CW_ENOTFOUND
		           ? cw_error(CW_EVERIFY, "%s: the store has no node identity", h->dir)
		           : error;
	if (cw_role_parse(&r, role) < 0)
		return cw_error(CW_EVERIFY, "%s: the store names an unknown role", h->dir);
	h->role = r;
	h->created_at = strtoll(created, NULL, 10);
	return CW_OK;
}

static int make_dir(const char *dir)
{
	struct stat st;

	if (mkdir(dir, 0700) == 0)
		return CW_OK;
	if (errno == EEXIST && stat(dir, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return CW_OK;
		return cw_error(CW_EINVALID, "%s is a file, not a folder: give --home a folder", dir);
	}
	return cw_error_os(dir);
}

int cw_home_init(cw_home **out, const char *dir, const char *name, cw_role role, const char *pass,
                 size_t passlen, const cw_kdf_cost *cost)
{
	cw_home *h = NULL;
	cw_buf ks = CW_BUF_INIT;
	char *keys_path = NULL, *store_path = NULL, *inbox = NULL, created[32];
	int error;

	*out = NULL;
	if (!cw_utf8_valid((const uint8_t *)name, strlen(name), 0) || strlen(name) == 0 ||
	    strlen(name) > CW_NAME_MAX) {
		error = cw_error(CW_EINVALID, "--name must be 1 to %d characters of text", CW_NAME_MAX);
		goto done;
	}
	if ((h = calloc(1, sizeof(*h))) == NULL || (h->dir = strdup(dir)) == NULL ||
	    (keys_path = cw_home_file(h, "keys")) == NULL ||
	    (store_path = cw_home_file(h, "store.db")) == NULL ||
	    (inbox = cw_home_file(h, "inbox")) == NULL) {
		error = cw_error_nomem();
		goto done;
	}
	if ((error = make_dir(dir)) < 0)
		goto done;
	if (cw_file_exists(keys_path)) {
		error = cw_error(CW_EEXISTS, "a caseway node already exists at %s", dir);
		goto done;
	}
	/* A store without keys is what an interrupted init leaves (it marks its
	 * work with init-in-progress): start over. Anything else is not ours. */
	if (cw_file_exists(store_path)) {
		char *marker = cw_home_file(h, "init-in-progress"), *side = malloc(strlen(store_path) + 8);

		if (marker == NULL || side == NULL || !cw_file_exists(marker)) {
			free(marker);
			free(side);
			error = cw_error(CW_EEXISTS,
			                 "%s holds a store.db but no caseway keys: not touching it", dir);
			goto done;
		}
		unlink(store_path);
		sprintf(side, "%s-wal", store_path);
		unlink(side);
		sprintf(side, "%s-shm", store_path);
		unlink(side);
		free(marker);
		free(side);
	}
	{
		char *marker = cw_home_file(h, "init-in-progress");

		if (marker == NULL || (error = cw_file_write_atomic(marker, "", 0, 0600, 0)) < 0) {
			if (marker == NULL)
				error = cw_error_nomem();
			free(marker);
			goto done;
		}
		free(marker);
	}
	if ((error = make_dir(inbox)) < 0 || (error = cw_keys_generate(&h->keys)) < 0 ||
	    (error = cw_keystore_seal(&ks, CW_KEYSTORE_DEVICE, h->keys, pass, passlen, cost)) < 0 ||
	    (error = open_store(h, CW_STORE_CREATE)) < 0)
		goto done;
	snprintf(created, sizeof(created), "%lld", (long long)time(NULL));
	if ((error = cw_store_begin(h->store)) < 0)
		goto done;
	if ((error = cw_store_meta_set(h->store, "node.name", name, strlen(name))) < 0 ||
	    (error = cw_store_meta_set(h->store, "node.role", cw_role_name(role),
	                               strlen(cw_role_name(role)))) < 0 ||
	    (error = cw_store_meta_set(h->store, "node.created_at", created, strlen(created))) < 0 ||
	    (error = cw_store_meta_set(h->store, "node.id", cw_keys_id(h->keys),
	                               strlen(cw_keys_id(h->keys)))) < 0 ||
	    (error = cw_store_commit(h->store)) < 0) {
		cw_store_rollback(h->store);
		goto done;
	}
	if ((error = cw_file_write_atomic(keys_path, ks.data, ks.len, 0600, 1)) < 0 ||
	    (error = load_identity(h)) < 0)
		goto done;
	{
		char *marker = cw_home_file(h, "init-in-progress");

		if (marker)
			unlink(marker);
		free(marker);
	}
	*out = h;
	h = NULL;
done:
	cw_home_free(h);
	cw_buf_dispose(&ks);
	free(keys_path);
	free(store_path);
	free(inbox);
	return error;
}

int cw_home_open(cw_home **out, const char *dir, const char *pass, size_t passlen)
{
	cw_home *h = NULL;
	cw_buf ks = CW_BUF_INIT;
	char *keys_path = NULL;
	int error;

	*out = NULL;
	if ((h = calloc(1, sizeof(*h))) == NULL || (h->dir = strdup(dir)) == NULL ||
	    (keys_path = cw_home_file(h, "keys")) == NULL) {
		error = cw_error_nomem();
		goto done;
	}
	if (!cw_file_exists(keys_path)) {
		error = cw_error(CW_ENOTFOUND,
		                 "no caseway node at %s: run `caseway init --name NAME` to make one", dir);
		goto done;
	}
	if ((error = cw_file_read(&ks, keys_path, KEYSTORE_CAP)) < 0) {
		if (error == CW_EINVALID)
			error = cw_error(CW_EVERIFY, "%s: keystore is damaged (wrong size)", keys_path);
		goto done;
	}
	if ((error = cw_keystore_open(&h->keys, NULL, ks.data, ks.len, pass, passlen, dir)) < 0 ||
	    (error = open_store(h, 0)) < 0 || (error = load_identity(h)) < 0)
		goto done;
	*out = h;
	h = NULL;
done:
	cw_home_free(h);
	cw_buf_dispose(&ks);
	free(keys_path);
	return error;
}

int cw_home_passwd(cw_home *h, const char *newpass, size_t newlen, const cw_kdf_cost *cost)
{
	cw_buf ks = CW_BUF_INIT;
	char *keys_path = NULL;
	int error;

	if ((keys_path = cw_home_file(h, "keys")) == NULL) {
		error = cw_error_nomem();
		goto done;
	}
	if ((error = cw_keystore_seal(&ks, CW_KEYSTORE_DEVICE, h->keys, newpass, newlen, cost)) < 0 ||
	    (error = cw_file_write_atomic(keys_path, ks.data, ks.len, 0600, 0)) < 0)
		goto done;
done:
	cw_buf_dispose(&ks);
	free(keys_path);
	return error;
}

const char *cw_home_dir(const cw_home *h)
{
	return h->dir;
}

const cw_keys *cw_home_keys(const cw_home *h)
{
	return h->keys;
}

cw_store *cw_home_store(cw_home *h)
{
	return h->store;
}

const char *cw_home_name(const cw_home *h)
{
	return h->name;
}

cw_role cw_home_role(const cw_home *h)
{
	return h->role;
}

int64_t cw_home_created_at(const cw_home *h)
{
	return h->created_at;
}

void cw_home_free(cw_home *h)
{
	if (h == NULL)
		return;
	cw_store_free(h->store);
	cw_keys_free(h->keys);
	free(h->dir);
	free(h);
}
