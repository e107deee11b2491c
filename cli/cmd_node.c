/* cli/cmd_node.c - init, whoami, passwd, verify. */
#include "cli.h"
#include "crypto/armor.h"
#include "node/org.h"
#include "sync/log.h"
#include "util/file.h"
#include "util/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NOPTS(o) (sizeof(o) / sizeof((o)[0]))

int cmd_init(int argc, char **argv)
{
	cli_opt opts[] = { { "--name", 1, NULL },
		           { "--role", 1, NULL },
		           { "--kdf-memory", 1, NULL },
		           { "--kdf-passes", 1, NULL } };
	const char *pos[1];
	size_t npos;
	cw_role role = CW_ROLE_COORDINATOR;
	cw_kdf_cost cost;
	cw_secret *pass = NULL;
	cw_home *h = NULL;
	char *dir = NULL;
	const char *name, *r;
	int error;

	if ((error = cli_parse(argc, argv, opts, NOPTS(opts), pos, 0, &npos)) < 0)
		goto done;
	if ((name = cli_opt_value(opts, NOPTS(opts), "--name")) == NULL) {
		error = cw_error(CW_EINVALID,
		                 "init needs --name NAME (how head office will see this device)");
		goto done;
	}
	if ((r = cli_opt_value(opts, NOPTS(opts), "--role")) && (error = cw_role_parse(&role, r)) < 0)
		goto done;
	if ((error = cli_kdf_cost(&cost, cli_opt_value(opts, NOPTS(opts), "--kdf-memory"),
	                          cli_opt_value(opts, NOPTS(opts), "--kdf-passes"))) < 0 ||
	    (error = cw_home_locate(&dir, cli_g.home_flag)) < 0 ||
	    (error = cli_passphrase(&pass, "New passphrase for this device: ", 1)) < 0 ||
	    (error = cw_home_init(&h, dir, name, role, (const char *)cw_secret_data(pass),
	                          cw_secret_len(pass), &cost)) < 0)
		goto done;
	if (cli_g.json) {
		cJSON *doc = cJSON_CreateObject();

		cJSON_AddStringToObject(doc, "id", cw_keys_id(cw_home_keys(h)));
		cJSON_AddStringToObject(doc, "name", cw_home_name(h));
		cJSON_AddStringToObject(doc, "role", cw_role_name(cw_home_role(h)));
		cJSON_AddStringToObject(doc, "home", dir);
		cli_json_print(doc);
	}
	cli_say("Made a new %s node '%s' (device %s) in %s.", cw_role_name(role), name,
	        cw_keys_id(cw_home_keys(h)), dir);
	if (role == CW_ROLE_HUB)
		cli_say("Next: `caseway org create --name AGENCY` makes the agency key on this node.");
	else
		cli_say("Next: send `caseway whoami --request -o request.txt` to head office, then "
		        "`caseway org join CERT` with the certificate they send back.");
done:
	cw_home_free(h);
	cw_secret_free(pass);
	free(dir);
	return error;
}

static void hex_of(char *out, const uint8_t *pk)
{
	cw_hex_encode(out, pk, CW_PK_BYTES);
}

int cmd_whoami(int argc, char **argv)
{
	cli_opt opts[] = { { "--request", 0, NULL }, { "--cert", 0, NULL }, { "-o", 1, NULL } };
	const char *pos[1], *outpath;
	size_t npos;
	cw_home *h = NULL;
	cw_buf raw = CW_BUF_INIT, text = CW_BUF_INIT;
	cw_cert cert;
	cw_roster *roster = NULL;
	char sign_hex[65], box_hex[65], fp[40], when[32];
	int error, enrolled;

	if ((error = cli_parse(argc, argv, opts, NOPTS(opts), pos, 0, &npos)) < 0)
		goto done;
	outpath = cli_opt_value(opts, NOPTS(opts), "-o");
	if (cli_opt_value(opts, NOPTS(opts), "--request") && cli_opt_value(opts, NOPTS(opts), "--cert")) {
		error = cw_error(CW_EINVALID, "choose one of --request and --cert");
		goto done;
	}
	if ((error = cli_open_home(&h)) < 0)
		goto done;
	if (cli_opt_value(opts, NOPTS(opts), "--request")) {
		if ((error = cw_request_create(&raw, cw_home_keys(h), cw_home_name(h), cw_home_role(h),
		                               (int64_t)time(NULL))) < 0 ||
		    (error = cw_armor_encode(&text, "request", raw.data, raw.len)) < 0 ||
		    (error = cli_write_output(outpath, text.data, text.len)) < 0)
			goto done;
		if (outpath && !cli_g.quiet)
			fprintf(stderr, "Enrolment request written to %s: send it to head office.\n",
			        outpath);
		goto done;
	}
	if (cli_opt_value(opts, NOPTS(opts), "--cert")) {
		if ((error = cw_org_package(&raw, h)) < 0 ||
		    (error = cw_armor_encode(&text, "cert", raw.data, raw.len)) < 0 ||
		    (error = cli_write_output(outpath, text.data, text.len)) < 0)
			goto done;
		goto done;
	}
	if (outpath) {
		error = cw_error(CW_EINVALID, "-o goes with --request or --cert");
		goto done;
	}
	hex_of(sign_hex, cw_keys_sign_pk(cw_home_keys(h)));
	hex_of(box_hex, cw_keys_box_pk(cw_home_keys(h)));
	error = cw_org_cert(&cert, h);
	if (error < 0 && error != CW_ENOTFOUND)
		goto done;
	enrolled = error == CW_OK;
	if (enrolled && (error = cw_org_roster(&roster, h)) < 0)
		goto done;
	error = CW_OK;
	if (cli_g.json) {
		cJSON *doc = cJSON_CreateObject();

		cJSON_AddStringToObject(doc, "id", cw_keys_id(cw_home_keys(h)));
		cJSON_AddStringToObject(doc, "name", cw_home_name(h));
		cJSON_AddStringToObject(doc, "role", cw_role_name(cw_home_role(h)));
		cJSON_AddStringToObject(doc, "signing_key", sign_hex);
		cJSON_AddStringToObject(doc, "sealing_key", box_hex);
		cJSON_AddStringToObject(doc, "home", cw_home_dir(h));
		if (enrolled) {
			cJSON *org = cJSON_AddObjectToObject(doc, "agency");

			cw_keys_fingerprint(fp, cert.org_pk);
			cli_time(when, cert.issued_at);
			cJSON_AddStringToObject(org, "name", cw_roster_org_name(roster));
			cJSON_AddStringToObject(org, "fingerprint", fp);
			cJSON_AddStringToObject(org, "certified_role", cw_role_name(cert.role));
			cJSON_AddStringToObject(org, "certified_at", when);
			cJSON_AddNumberToObject(org, "roster", (double)cw_roster_seq(roster));
		} else {
			cJSON_AddNullToObject(doc, "agency");
		}
		cli_json_print(doc);
		goto done;
	}
	printf("device       %s\n", cw_keys_id(cw_home_keys(h)));
	printf("name         %s\n", cw_home_name(h));
	printf("role         %s\n", cw_role_name(cw_home_role(h)));
	printf("signing key  %s\n", sign_hex);
	printf("sealing key  %s\n", box_hex);
	printf("home         %s\n", cw_home_dir(h));
	if (enrolled) {
		cw_keys_fingerprint(fp, cert.org_pk);
		cli_time(when, cert.issued_at);
		printf("agency       %s (agency key %s)\n", cw_roster_org_name(roster), fp);
		printf("certificate  %s, issued %s, roster %llu\n", cw_role_name(cert.role), when,
		       (unsigned long long)cw_roster_seq(roster));
	} else {
		printf("agency       not enrolled yet: send `caseway whoami --request` to head office\n");
	}
done:
	cw_roster_free(roster);
	cw_buf_dispose(&raw);
	cw_buf_dispose(&text);
	cw_home_free(h);
	return error;
}

int cmd_passwd(int argc, char **argv)
{
	cli_opt opts[] = { { "--new-passphrase-file", 1, NULL },
		           { "--kdf-memory", 1, NULL },
		           { "--kdf-passes", 1, NULL } };
	const char *pos[1];
	size_t npos;
	cw_kdf_cost cost;
	cw_home *h = NULL;
	cw_secret *np = NULL;
	int error;

	if ((error = cli_parse(argc, argv, opts, NOPTS(opts), pos, 0, &npos)) < 0 ||
	    (error = cli_kdf_cost(&cost, cli_opt_value(opts, NOPTS(opts), "--kdf-memory"),
	                          cli_opt_value(opts, NOPTS(opts), "--kdf-passes"))) < 0 ||
	    (error = cli_open_home(&h)) < 0 ||
	    (error = cli_new_passphrase(&np, cli_opt_value(opts, NOPTS(opts), "--new-passphrase-file"))) <
	        0 ||
	    (error = cw_home_passwd(h, (const char *)cw_secret_data(np), cw_secret_len(np), &cost)) < 0)
		goto done;
	cli_say("Passphrase changed for %s.", cw_home_dir(h));
done:
	cw_secret_free(np);
	cw_home_free(h);
	return error;
}

int cmd_verify(int argc, char **argv)
{
	cli_opt opts[] = { { "--rebuild", 0, NULL } };
	const char *pos[1];
	size_t npos;
	cw_home *h = NULL;
	cw_store_report rep;
	cw_oplog_report ops = { 0, 0, 0 };
	cw_keyring kr = { 0, NULL, NULL };
	cw_cert cert;
	uint64_t rosters = 0;
	size_t log_commits = 0;
	uint8_t before[CW_HASH_BYTES], after[CW_HASH_BYTES];
	int error, enrolled = 0, rebuild;
	cJSON *doc = NULL;

	if ((error = cli_parse(argc, argv, opts, NOPTS(opts), pos, 0, &npos)) < 0 ||
	    (error = cli_open_home(&h)) < 0)
		goto done;
	rebuild = cli_opt_value(opts, NOPTS(opts), "--rebuild") != NULL;
	cli_say("keystore     ok (passphrase opens it, keys match)");
	error = cw_org_verify(h, &cert, &rosters);
	if (error < 0 && error != CW_ENOTFOUND)
		goto done;
	enrolled = error == CW_OK;
	if (enrolled)
		cli_say("certificate  ok (%s, signed by the agency key; %llu roster version%s linked)",
		        cw_role_name(cert.role), (unsigned long long)rosters, rosters == 1 ? "" : "s");
	else
		cli_say("certificate  none yet (not enrolled)");
	if ((error = cw_store_verify(cw_home_store(h), &rep)) < 0)
		goto done;
	cli_say("store        ok (%u pages and %u log frames authenticated, schema %d)", rep.pages,
	        rep.wal_frames, rep.schema_version);
	if ((error = cw_org_keyring(&kr, h)) < 0 ||
	    (error = cw_oplog_verify(&ops, cw_home_store(h), &kr)) < 0)
		goto done;
	cli_say("changes      ok (%llu signed changes in %llu chains over %llu cases)",
	        (unsigned long long)ops.ops, (unsigned long long)ops.chains, (unsigned long long)ops.cases);
	/* The signed chains in git, when this node has synced. */
	{
		char *git_dir = cw_home_file(h, "log.git");
		int has_log = git_dir && cw_file_exists(git_dir);

		free(git_dir);
		if (has_log) {
			cw_log *log = NULL;

			if ((error = cw_log_open(&log, cw_home_dir(h))) == CW_OK)
				error = cw_log_verify(&log_commits, log, &kr);
			cw_log_free(log);
			if (error < 0)
				goto done;
			cli_say(
			    "git log      ok (%zu signed commits checked down to the first of each chain)",
			    log_commits);
		}
	}
	if (rebuild) {
		/* inside one write transaction: nobody can change the store between
		 * the digest before and the digest after */
		if ((error = cw_store_begin(cw_home_store(h))) < 0)
			goto done;
		if ((error = cw_oplog_digest(before, cw_home_store(h), NULL)) < 0 ||
		    (error = cw_oplog_rebuild(cw_home_store(h))) < 0 ||
		    (error = cw_oplog_digest(after, cw_home_store(h), NULL)) < 0) {
			cw_store_rollback(cw_home_store(h));
			goto done;
		}
		if (!cw_secret_equal(before, after, CW_HASH_BYTES)) {
			cw_store_rollback(cw_home_store(h));
			error = cw_error(CW_EVERIFY, "the stored cases differ from what the change log "
			                             "gives: the store was altered");
			goto done;
		}
		if ((error = cw_store_commit(cw_home_store(h))) < 0)
			goto done;
		cli_say("rebuild      ok (every case recomputed from the log is identical)");
	}
	if (cli_g.json) {
		doc = cJSON_CreateObject();
		cJSON_AddBoolToObject(doc, "ok", 1);
		cJSON_AddStringToObject(doc, "keystore", "ok");
		cJSON_AddStringToObject(doc, "certificate", enrolled ? "ok" : "none");
		cJSON_AddNumberToObject(doc, "roster_versions", (double)rosters);
		cJSON_AddNumberToObject(doc, "store_pages", rep.pages);
		cJSON_AddNumberToObject(doc, "store_wal_frames", rep.wal_frames);
		cJSON_AddNumberToObject(doc, "schema_version", rep.schema_version);
		cJSON_AddNumberToObject(doc, "changes", (double)ops.ops);
		cJSON_AddNumberToObject(doc, "chains", (double)ops.chains);
		cJSON_AddNumberToObject(doc, "git_commits", (double)log_commits);
		if (rebuild)
			cJSON_AddBoolToObject(doc, "rebuild_identical", 1);
		cli_json_print(doc);
	}
done:
	cw_keyring_dispose(&kr);
	cw_home_free(h);
	return error;
}
