/* cli/cmd_org.c - org create, enroll, join, roster. */
#include "cli.h"
#include "crypto/armor.h"
#include "node/case.h"
#include "node/org.h"
#include "sync/log.h"
#include "util/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOPTS(o) (sizeof(o) / sizeof((o)[0]))
#define SMALL_FILE_CAP ((size_t)1 << 20)
#define PACKAGE_CAP ((size_t)80 << 20)

static int org_create(int argc, char **argv)
{
	cli_opt opts[] = { { "--name", 1, NULL }, { "--kdf-memory", 1, NULL }, { "--kdf-passes", 1, NULL } };
	const char *pos[1], *name;
	size_t npos;
	cw_kdf_cost cost;
	cw_home *h = NULL;
	cw_cert cert;
	char fp[40];
	int error;

	if ((error = cli_parse(argc, argv, opts, NOPTS(opts), pos, 0, &npos)) < 0 ||
	    (error = cli_kdf_cost(&cost, cli_opt_value(opts, NOPTS(opts), "--kdf-memory"),
	                          cli_opt_value(opts, NOPTS(opts), "--kdf-passes"))) < 0)
		goto done;
	if ((name = cli_opt_value(opts, NOPTS(opts), "--name")) == NULL) {
		error = cw_error(CW_EINVALID, "org create needs --name AGENCY");
		goto done;
	}
	if ((error = cli_open_home(&h)) < 0 ||
	    (error = cw_org_create(h, name, (const char *)cw_secret_data(cli_last_passphrase()),
	                           cw_secret_len(cli_last_passphrase()), &cost)) < 0 ||
	    (error = cw_org_cert(&cert, h)) < 0)
		goto done;
	cw_keys_fingerprint(fp, cert.org_pk);
	if (cli_g.json) {
		cJSON *doc = cJSON_CreateObject();

		cJSON_AddStringToObject(doc, "agency", name);
		cJSON_AddStringToObject(doc, "fingerprint", fp);
		cJSON_AddStringToObject(doc, "hub", cert.device_id);
		cli_json_print(doc);
	}
	cli_say("Agency '%s' created. Agency key fingerprint: %s", name, fp);
	cli_say("This node (%s) is enrolled as the hub. The agency key is in %s/org.key: "
	        "keep a copy offline.",
	        cert.device_id, cw_home_dir(h));
done:
	cw_home_free(h);
	return error;
}

static int org_enroll(int argc, char **argv)
{
	cli_opt opts[] = { { "--role", 1, NULL }, { "-o", 1, NULL }, { "--org-key", 1, NULL } };
	const char *pos[1], *r;
	size_t npos;
	cw_role role;
	cw_home *h = NULL;
	cw_keys *org = NULL;
	cw_buf in = CW_BUF_INIT, req = CW_BUF_INIT, pkg = CW_BUF_INIT, text = CW_BUF_INIT;
	cw_cert cert;
	int error;

	if ((error = cli_parse(argc, argv, opts, NOPTS(opts), pos, 1, &npos)) < 0)
		goto done;
	if (npos != 1 || (r = cli_opt_value(opts, NOPTS(opts), "--role")) == NULL) {
		error = cw_error(CW_EINVALID, "usage: caseway org enroll REQUEST --role ROLE [-o CERT]");
		goto done;
	}
	if ((error = cw_role_parse(&role, r)) < 0 ||
	    (error = cli_read_input(&in, pos[0], SMALL_FILE_CAP)) < 0)
		goto done;
	if ((error = cw_armor_decode(&req, "request", in.data, in.len)) < 0) {
		error = cw_error(CW_EVERIFY, "%s: %s", pos[0], cw_error_last());
		goto done;
	}
	if ((error = cli_open_home(&h)) < 0 ||
	    (error = cw_org_unlock(&org, h, cli_opt_value(opts, NOPTS(opts), "--org-key"),
	                           (const char *)cw_secret_data(cli_last_passphrase()),
	                           cw_secret_len(cli_last_passphrase()))) < 0 ||
	    (error = cw_org_enroll(&pkg, &cert, h, org, req.data, req.len, role)) < 0 ||
	    (error = cw_armor_encode(&text, "cert", pkg.data, pkg.len)) < 0 ||
	    (error = cli_write_output(cli_opt_value(opts, NOPTS(opts), "-o"), text.data, text.len)) < 0)
		goto done;
	if (cli_opt_value(opts, NOPTS(opts), "-o") && !cli_g.quiet)
		fprintf(stderr, "Enrolled '%s' (device %s) as %s. Send %s back to that device.\n", cert.name,
		        cert.device_id, cw_role_name(cert.role), cli_opt_value(opts, NOPTS(opts), "-o"));
done:
	cw_keys_free(org);
	cw_home_free(h);
	cw_buf_dispose(&in);
	cw_buf_dispose(&req);
	cw_buf_dispose(&pkg);
	cw_buf_dispose(&text);
	return error;
}

static int org_join(int argc, char **argv)
{
	const char *pos[1];
	size_t npos;
	cw_home *h = NULL;
	cw_buf in = CW_BUF_INIT, pkg = CW_BUF_INIT;
	cw_cert cert;
	cw_roster *r = NULL;
	char fp[40];
	int error;

	if ((error = cli_parse(argc, argv, NULL, 0, pos, 1, &npos)) < 0)
		goto done;
	if (npos != 1) {
		error = cw_error(CW_EINVALID, "usage: caseway org join CERT");
		goto done;
	}
	if ((error = cli_read_input(&in, pos[0], PACKAGE_CAP)) < 0)
		goto done;
	if ((error = cw_armor_decode(&pkg, "cert", in.data, in.len)) < 0) {
		error = cw_error(CW_EVERIFY, "%s: %s", pos[0], cw_error_last());
		goto done;
	}
	if ((error = cli_open_home(&h)) < 0 || (error = cw_org_join(h, pkg.data, pkg.len, &cert)) < 0 ||
	    (error = cw_org_roster(&r, h)) < 0)
		goto done;
	cw_keys_fingerprint(fp, cert.org_pk);
	if (cli_g.json) {
		cJSON *doc = cJSON_CreateObject();

		cJSON_AddStringToObject(doc, "agency", cw_roster_org_name(r));
		cJSON_AddStringToObject(doc, "fingerprint", fp);
		cJSON_AddStringToObject(doc, "role", cw_role_name(cert.role));
		cli_json_print(doc);
	}
	cli_say("Joined agency '%s' as %s. Agency key fingerprint: %s", cw_roster_org_name(r),
	        cw_role_name(cert.role), fp);
	cli_say("Check this fingerprint with head office by phone before you sync.");
done:
	cw_roster_free(r);
	cw_home_free(h);
	cw_buf_dispose(&in);
	cw_buf_dispose(&pkg);
	return error;
}

static int org_roster(int argc, char **argv)
{
	const char *pos[1];
	size_t npos, i;
	cw_home *h = NULL;
	cw_roster *r = NULL;
	char fp[40], when[32];
	cJSON *doc = NULL, *arr;
	int error;

	if ((error = cli_parse(argc, argv, NULL, 0, pos, 0, &npos)) < 0 || (error = cli_open_home(&h)) < 0 ||
	    (error = cw_org_roster(&r, h)) < 0)
		goto done;
	cw_keys_fingerprint(fp, cw_roster_org_pk(r));
	if (cli_g.json) {
		doc = cJSON_CreateObject();
		cJSON_AddStringToObject(doc, "agency", cw_roster_org_name(r));
		cJSON_AddStringToObject(doc, "fingerprint", fp);
		cJSON_AddNumberToObject(doc, "version", (double)cw_roster_seq(r));
		arr = cJSON_AddArrayToObject(doc, "devices");
		for (i = 0; i < cw_roster_count(r); i++) {
			const cw_cert *c = cw_roster_cert(r, i);
			cJSON *d = cJSON_CreateObject();

			const cw_revocation *rev = cw_roster_revocation(r, c->sign_pk);

			cli_time(when, c->issued_at);
			cJSON_AddStringToObject(d, "id", c->device_id);
			cJSON_AddStringToObject(d, "name", c->name);
			cJSON_AddStringToObject(d, "role", cw_role_name(c->role));
			cJSON_AddStringToObject(d, "status", rev ? "revoked" : "active");
			cJSON_AddStringToObject(d, "enrolled_at", when);
			if (rev) {
				cli_time(when, rev->revoked_at);
				cJSON_AddStringToObject(d, "revoked_at", when);
				cJSON_AddNumberToObject(d, "chains_accepted", (double)rev->nchains);
			}
			cJSON_AddItemToArray(arr, d);
		}
		cli_json_print(doc);
		goto done;
	}
	printf("Agency %s, roster version %llu (agency key %s)\n\n", cw_roster_org_name(r),
	       (unsigned long long)cw_roster_seq(r), fp);
	printf("%-16s  %-11s  %-8s  %-20s  %s\n", "DEVICE", "ROLE", "STATUS", "ENROLLED", "NAME");
	for (i = 0; i < cw_roster_count(r); i++) {
		const cw_cert *c = cw_roster_cert(r, i);

		const cw_revocation *rev = cw_roster_revocation(r, c->sign_pk);

		cli_time(when, c->issued_at);
		printf("%-16s  %-11s  %-8s  %-20s  %s", c->device_id, cw_role_name(c->role),
		       rev ? "revoked" : "active", when, c->name);
		if (rev) {
			cli_time(when, rev->revoked_at);
			printf(" (revoked %s)", when);
		}
		printf("\n");
	}
done:
	cw_roster_free(r);
	cw_home_free(h);
	return error;
}

static int org_allowed_signers(int argc, char **argv)
{
	cli_opt opts[] = { { "-o", 1, NULL } };
	const char *pos[1], *out;
	size_t npos;
	cw_home *h = NULL;
	cw_keyring kr = { 0, NULL, NULL };
	cw_buf text = CW_BUF_INIT;
	int error;

	if ((error = cli_parse(argc, argv, opts, NOPTS(opts), pos, 0, &npos)) < 0 ||
	    (error = cli_open_home(&h)) < 0 || (error = cw_org_keyring(&kr, h)) < 0 ||
	    (error = cw_log_allowed_signers(&text, &kr)) < 0)
		goto done;
	out = cli_opt_value(opts, NOPTS(opts), "-o");
	if (out) {
		if ((error = cli_write_output(out, text.data, text.len)) < 0)
			goto done;
		cli_say("%zu device key%s written to %s.", kr.n, kr.n == 1 ? "" : "s", out);
	} else if (cli_g.json) {
		cJSON *doc = cJSON_CreateObject();

		if ((error = cw_buf_put(&text, "", 1)) < 0) {
			cJSON_Delete(doc);
			goto done;
		}
		cJSON_AddStringToObject(doc, "allowed_signers", (const char *)text.data);
		cli_json_print(doc);
	} else {
		fwrite(text.data, 1, text.len, stdout);
	}
done:
	cw_buf_dispose(&text);
	cw_keyring_dispose(&kr);
	cw_home_free(h);
	return error;
}

typedef struct {
	cw_revoked_chain *v;
	size_t n, alloc;
} chain_list;

static int collect_chain(const uint8_t case_id[CW_ID_BYTES], const char *commit_hex, uint64_t last_seq,
                         void *p)
{
	chain_list *l = p;

	if (l->n == l->alloc) {
		size_t na = l->alloc ? 2 * l->alloc : 16;
		cw_revoked_chain *g = realloc(l->v, na * sizeof(*g));

		if (g == NULL)
			return cw_error_nomem();
		l->v = g;
		l->alloc = na;
	}
	memcpy(l->v[l->n].case_id, case_id, CW_ID_BYTES);
	l->v[l->n].seq = last_seq;
	if (cw_hex_decode(l->v[l->n].commit, CW_REVOKED_COMMIT_BYTES, commit_hex) < 0)
		return cw_error(CW_EINVALID, "the git log holds a malformed commit id");
	l->n++;
	return CW_OK;
}

/* The cases whose key a revoked device could hold, to rotate. */
typedef struct {
	uint8_t (*v)[CW_ID_BYTES];
	size_t n, alloc;
	cw_store *st;
	const cw_keys *me;
	size_t rotated;
} rotation;

static int add_case(const uint8_t case_id[CW_ID_BYTES], void *p)
{
	rotation *r = p;

	if (r->n == r->alloc) {
		size_t na = r->alloc ? 2 * r->alloc : 64;
		void *g = realloc(r->v, na * sizeof(*r->v));

		if (g == NULL)
			return cw_error_nomem();
		r->v = g;
		r->alloc = na;
	}
	memcpy(r->v[r->n++], case_id, CW_ID_BYTES);
	return CW_OK;
}

static int by_id(const void *a, const void *b)
{
	return memcmp(a, b, CW_ID_BYTES);
}

/* Inside the revocation's transaction: a new key generation for each case
 * listed that this node can read. */
static int rotate_all(void *p)
{
	rotation *r = p;
	size_t i;
	int error;

	if (r->n)
		qsort(r->v, r->n, sizeof(*r->v), by_id);
	for (i = 0; i < r->n; i++) {
		cw_secret *key = NULL;

		if (i > 0 && memcmp(r->v[i - 1], r->v[i], CW_ID_BYTES) == 0)
			continue;
		error = cw_case_key(&key, r->st, r->v[i]);
		cw_secret_free(key);
		if (error == CW_ENOTFOUND) { /* not readable here: nothing to rotate */
			cw_error_clear();
			continue;
		}
		if (error < 0 || (error = cw_case_rotate(NULL, r->st, r->me, r->v[i])) < 0)
			return error;
		r->rotated++;
	}
	return CW_OK;
}

static int org_revoke(int argc, char **argv)
{
	cli_opt opts[] = { { "--org-key", 1, NULL } };
	const char *pos[1];
	size_t npos, i;
	cw_home *h = NULL;
	cw_keys *org = NULL;
	cw_log *log = NULL;
	cw_roster *r = NULL;
	chain_list chains = { NULL, 0, 0 };
	rotation rot;
	cw_revocation rev;
	const cw_cert *c;
	uint8_t author[CW_AUTHOR_BYTES];
	long idx;
	int error;

	memset(&rot, 0, sizeof(rot));
	if ((error = cli_parse(argc, argv, opts, NOPTS(opts), pos, 1, &npos)) < 0)
		goto done;
	if (npos != 1) {
		error = cw_error(CW_EINVALID, "usage: caseway org revoke DEVICE [--org-key FILE]");
		goto done;
	}
	if ((error = cli_open_home(&h)) < 0 ||
	    (error = cw_org_unlock(&org, h, cli_opt_value(opts, NOPTS(opts), "--org-key"),
	                           (const char *)cw_secret_data(cli_last_passphrase()),
	                           cw_secret_len(cli_last_passphrase()))) < 0 ||
	    (error = cw_org_roster(&r, h)) < 0)
		goto done;
	rot.st = cw_home_store(h);
	rot.me = cw_home_keys(h);
	if ((idx = cw_org_find_device(r, pos[0])) < 0) {
		error = cw_error(CW_ENOTFOUND,
		                 "no device '%.40s' in the agency's roster (see `caseway org roster`)",
		                 pos[0]);
		goto done;
	}
	c = cw_roster_cert(r, (size_t)idx);
	/* what the agency accepts: the device's chains as this node holds them */
	if ((error = cw_author_from_hex(author, c->device_id)) < 0 ||
	    (error = cw_log_open(&log, cw_home_dir(h))) < 0 ||
	    (error = cw_log_chains_of(log, author, collect_chain, &chains)) < 0)
		goto done;
	/* new keys for every case it could read: those it wrote to and those
	 * shared with it; a hub was granted every case */
	for (i = 0; i < chains.n; i++)
		if ((error = add_case(chains.v[i].case_id, &rot)) < 0)
			goto done;
	if ((error = c->role == CW_ROLE_HUB
	                 ? cw_case_each_readable(rot.st, add_case, &rot)
	                 : cw_case_with_member(rot.st, c->device_id, add_case, &rot)) < 0 ||
	    (error = cw_org_revoke(&rev, h, org, c->device_id, chains.v, chains.n, rotate_all, &rot)) < 0 ||
	    (error = cw_log_roster_publish(log, h)) < 0)
		goto done;
	if (cli_g.json) {
		cJSON *doc = cJSON_CreateObject();

		cJSON_AddStringToObject(doc, "device", c->device_id);
		cJSON_AddStringToObject(doc, "name", c->name);
		cJSON_AddNumberToObject(doc, "chains_accepted", (double)chains.n);
		cJSON_AddNumberToObject(doc, "cases_rekeyed", (double)rot.rotated);
		cli_json_print(doc);
		goto done;
	}
	cli_say("Revoked %s (device %s, %s). The agency keeps what this node holds from it (%zu case "
	        "chain%s) and refuses anything later. New keys for %zu case%s. Sync to spread the "
	        "revocation.",
	        c->name, c->device_id, cw_role_name(c->role), chains.n, chains.n == 1 ? "" : "s", rot.rotated,
	        rot.rotated == 1 ? "" : "s");
done:
	free(chains.v);
	free(rot.v);
	cw_log_free(log);
	cw_roster_free(r);
	cw_keys_free(org);
	cw_home_free(h);
	return error;
}

int cmd_org(int argc, char **argv)
{
	if (argc < 1)
		return cw_error(CW_EINVALID,
		                "usage: caseway org create|enroll|join|revoke|roster|allowed-signers ...");
	if (strcmp(argv[0], "create") == 0)
		return org_create(argc - 1, argv + 1);
	if (strcmp(argv[0], "enroll") == 0)
		return org_enroll(argc - 1, argv + 1);
	if (strcmp(argv[0], "join") == 0)
		return org_join(argc - 1, argv + 1);
	if (strcmp(argv[0], "roster") == 0)
		return org_roster(argc - 1, argv + 1);
	if (strcmp(argv[0], "revoke") == 0)
		return org_revoke(argc - 1, argv + 1);
	if (strcmp(argv[0], "allowed-signers") == 0)
		return org_allowed_signers(argc - 1, argv + 1);
	return cw_error(CW_EINVALID,
	                "unknown org command '%s' (create, enroll, join, revoke, roster, allowed-signers)",
	                argv[0]);
}
