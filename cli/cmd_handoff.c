/* cli/cmd_handoff.c - `keygen` and `handoff create|open|reply`: the case handed to the
 * follow-up doctor, and the doctor's notes back (node/handoff.h). */
#include "cli.h"
#include "crypto/armor.h"
#include "node/case.h"
#include "node/handoff.h"
#include "util/error.h"
#include "util/file.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOPTS(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_REPEAT 64
#define KEY_CAP 4096
#define PUB_CAP 4096

/* Take every "--name VALUE" (or --name=VALUE) out of argv into vals; the
 * rest stays in argv for cli_parse. */
static int take_repeated(int *argc, char **argv, const char *name, const char **vals, size_t *n)
{
	size_t len = strlen(name);
	int i, o = 0;

	for (i = 0; i < *argc; i++) {
		const char *v = NULL;

		if (strcmp(argv[i], "--") == 0) {
			while (i < *argc)
				argv[o++] = argv[i++];
			break;
		}
		if (strcmp(argv[i], name) == 0) {
			if (i + 1 >= *argc)
				return cw_error(CW_EINVALID, "%s needs a value", name);
			v = argv[++i];
		} else if (strncmp(argv[i], name, len) == 0 && argv[i][len] == '=') {
			v = argv[i] + len + 1;
		}
		if (v == NULL) {
			argv[o++] = argv[i];
			continue;
		}
		if (*n >= MAX_REPEAT)
			return cw_error(CW_EINVALID, "too many %s (at most %d)", name, MAX_REPEAT);
		vals[(*n)++] = v;
	}
	*argc = o;
	return CW_OK;
}

/* ---- keygen ------------------------------------------------------------------------- */

int cmd_keygen(int argc, char **argv)
{
	cli_opt opts[] = { { "-o", 1, NULL }, { "--kdf-memory", 1, NULL }, { "--kdf-passes", 1, NULL } };
	const char *pos[1], *name;
	size_t npos;
	cw_buf key = CW_BUF_INIT, pub = CW_BUF_INIT;
	cw_secret *pass = NULL;
	cw_kdf_cost cost;
	char *key_path = NULL, *pub_path = NULL, fpr[40];
	int error;

	if ((error = cli_parse(argc, argv, opts, NOPTS(opts), pos, 0, &npos)) < 0)
		goto done;
	if ((name = cli_opt_value(opts, NOPTS(opts), "-o")) == NULL || *name == '\0') {
		error = cw_error(CW_EINVALID,
		                 "usage: caseway keygen -o NAME   (writes NAME.key and NAME.pub)");
		goto done;
	}
	if ((error = cli_kdf_cost(&cost, cli_opt_value(opts, NOPTS(opts), "--kdf-memory"),
	                          cli_opt_value(opts, NOPTS(opts), "--kdf-passes"))) < 0)
		goto done;
	if ((key_path = malloc(strlen(name) + 5)) == NULL || (pub_path = malloc(strlen(name) + 5)) == NULL) {
		error = cw_error_nomem();
		goto done;
	}
	sprintf(key_path, "%s.key", name);
	sprintf(pub_path, "%s.pub", name);
	if (cw_file_exists(key_path) || cw_file_exists(pub_path)) {
		error = cw_error(CW_EEXISTS, "%s or %s already exists: choose another name", key_path,
		                 pub_path);
		goto done;
	}
	if ((error = cli_passphrase(&pass, "Passphrase for the new key: ", 1)) < 0)
		goto done;
	if ((error = cw_handoff_keygen(&key, &pub, fpr, (const char *)cw_secret_data(pass),
	                               cw_secret_len(pass), &cost)) < 0 ||
	    (error = cw_file_write_atomic(key_path, key.data, key.len, 0600, 1)) < 0)
		goto done;
	if ((error = cw_file_write_atomic(pub_path, pub.data, pub.len, 0644, 1)) < 0) {
		remove(key_path);
		goto done;
	}
	if (cli_g.json) {
		cJSON *doc = cJSON_CreateObject();

		cJSON_AddStringToObject(doc, "key", key_path);
		cJSON_AddStringToObject(doc, "pub", pub_path);
		cJSON_AddStringToObject(doc, "fingerprint", fpr);
		cli_json_print(doc);
	}
	cli_say("Wrote %s (your private key: keep it, and its passphrase, to yourself) and %s (give it to "
	        "the agency).",
	        key_path, pub_path);
	cli_say("Fingerprint: %s  (read it to the agency so they know the key is yours)", fpr);
done:
	cw_secret_free(pass);
	cw_buf_dispose(&key);
	cw_buf_dispose(&pub);
	free(key_path);
	free(pub_path);
	return error;
}

/* ---- helpers ------------------------------------------------------------------------ */

/* Unlock the doctor's key file. */
static int open_doctor_key(cw_keys **out, const char *path)
{
	cw_buf data = CW_BUF_INIT;
	cw_secret *pass = NULL;
	char prompt[300];
	int error;

	*out = NULL;
	if ((error = cli_read_input(&data, path, KEY_CAP)) < 0) {
		if (error == CW_ENOTFOUND)
			cw_error_set("%s: no such key file (make one with `caseway keygen -o NAME`)", path);
		goto done;
	}
	snprintf(prompt, sizeof(prompt), "Passphrase for %s: ", path);
	if ((error = cli_passphrase(&pass, prompt, 0)) < 0)
		goto done;
	error = cw_handoff_key_open(out, data.data, data.len, (const char *)cw_secret_data(pass),
	                            cw_secret_len(pass), path);
done:
	cw_secret_free(pass);
	cw_buf_dispose(&data);
	return error;
}

static void info_json(cJSON *doc, const cw_handoff_info *info)
{
	char hex[2 * CW_ID_BYTES + 1], when[32];

	cJSON_AddStringToObject(doc, "agency", info->agency);
	cJSON_AddStringToObject(doc, "coordinator", info->signer.name);
	cJSON_AddStringToObject(doc, "device", info->signer.device_id);
	cJSON_AddStringToObject(doc, "role", cw_role_name(info->signer.role));
	cJSON_AddStringToObject(doc, "org_fingerprint", info->org_fingerprint);
	if (info->contact[0])
		cJSON_AddStringToObject(doc, "contact", info->contact);
	cw_id_hex(hex, info->case_id);
	cJSON_AddStringToObject(doc, "case", hex);
	cw_id_hex(hex, info->handoff_id);
	cJSON_AddStringToObject(doc, "handoff", hex);
	cli_time(when, (long long)info->created_at);
	cJSON_AddStringToObject(doc, "created", when);
}

/* The agency's roster from a certificate file (`caseway whoami --cert` of any of its
 * devices, e.g. head office's, as the agency publishes it). */
static int read_roster(cw_roster **out, const char *path)
{
	cw_buf text = CW_BUF_INIT, pkg = CW_BUF_INIT;
	const uint8_t *cert, *roster;
	size_t cert_len, roster_len;
	int error;

	*out = NULL;
	if ((error = cli_read_input(&text, path, CW_ROSTER_MAX_BYTES * 2)) < 0 ||
	    (error = cw_armor_decode(&pkg, "cert", text.data, text.len)) < 0 ||
	    (error = cw_enrolment_split(&cert, &cert_len, &roster, &roster_len, pkg.data, pkg.len)) < 0 ||
	    (error = cw_roster_parse(out, roster, roster_len)) < 0) {
		if (error == CW_EINVALID || error == CW_EVERIFY)
			error = cw_error(error, "--roster %s: not an agency certificate file that verifies",
			                 path);
	}
	cw_buf_dispose(&text);
	cw_buf_dispose(&pkg);
	return error;
}

/* ---- handoff create ----------------------------------------------------------------- */

static int handoff_create(int argc, char **argv)
{
	cli_opt opts[] = {
		{ "--to", 1, NULL }, { "-o", 1, NULL }, { "--contact", 1, NULL }, { "--no-docs", 0, NULL }
	};
	const char *pos[1], *docs[MAX_REPEAT], *to, *out;
	size_t npos, ndocs = 0;
	cw_home *h = NULL;
	cw_buf pub = CW_BUF_INIT;
	cw_handoff_options o;
	cw_handoff_report rep;
	uint8_t case_id[CW_ID_BYTES];
	char hex[2 * CW_ID_BYTES + 1];
	int error;

	if ((error = take_repeated(&argc, argv, "--doc", docs, &ndocs)) < 0 ||
	    (error = cli_parse(argc, argv, opts, NOPTS(opts), pos, 1, &npos)) < 0)
		goto done;
	to = cli_opt_value(opts, NOPTS(opts), "--to");
	out = cli_opt_value(opts, NOPTS(opts), "-o");
	if (npos != 1 || to == NULL || out == NULL) {
		error = cw_error(CW_EINVALID, "usage: caseway handoff create CASE --to DOCTOR.pub -o FILE "
		                              "[--contact TEXT] [--doc DOC]... [--no-docs]");
		goto done;
	}
	if (ndocs && cli_opt_value(opts, NOPTS(opts), "--no-docs")) {
		error = cw_error(CW_EINVALID, "--doc and --no-docs do not go together");
		goto done;
	}
	if ((error = cli_read_input(&pub, to, PUB_CAP)) < 0) {
		if (error == CW_ENOTFOUND)
			cw_error_set("%s: no such file (the doctor makes it with `caseway keygen`)", to);
		goto done;
	}
	if ((error = cli_open_home(&h)) < 0 || (error = cw_case_find(case_id, cw_home_store(h), pos[0])) < 0)
		goto done;
	memset(&o, 0, sizeof(o));
	o.contact = cli_opt_value(opts, NOPTS(opts), "--contact");
	o.docs = docs;
	o.ndocs = ndocs;
	o.no_docs = cli_opt_value(opts, NOPTS(opts), "--no-docs") != NULL;
	if ((error = cw_handoff_create(&rep, h, case_id, pub.data, pub.len, out, &o)) < 0)
		goto done;
	cw_id_hex(hex, case_id);
	if (cli_g.json) {
		cJSON *doc = cJSON_CreateObject();

		cJSON_AddStringToObject(doc, "file", out);
		cJSON_AddStringToObject(doc, "case", hex);
		cJSON_AddStringToObject(doc, "handoff", rep.handoff_id);
		cJSON_AddStringToObject(doc, "doctor", rep.doctor_fpr);
		cJSON_AddStringToObject(doc, "ips_blake2b", rep.ips_hash);
		cJSON_AddNumberToObject(doc, "documents", (double)rep.ndocs);
		cJSON_AddNumberToObject(doc, "document_bytes", (double)rep.bytes);
		cli_json_print(doc);
	}
	cli_say("Wrote %s: case %.8s for the doctor with key %s, with the patient summary and %zu "
	        "document%s (%" PRIu64 " bytes), signed by this device and sealed to that doctor.",
	        out, hex, rep.doctor_fpr, rep.ndocs, rep.ndocs == 1 ? "" : "s", rep.bytes);
	cli_say("The handoff is recorded in the case (item %.8s).", rep.entity);
done:
	cw_buf_dispose(&pub);
	cw_home_free(h);
	return error;
}

/* ---- handoff open ------------------------------------------------------------------- */

static int handoff_open(int argc, char **argv)
{
	cli_opt opts[] = {
		{ "--key", 1, NULL }, { "--out", 1, NULL }, { "--org", 1, NULL }, { "--roster", 1, NULL }
	};
	const char *pos[1], *key_path, *dir, *roster_path;
	size_t npos;
	cw_keys *doctor = NULL;
	cw_handoff_info info;
	cw_buf names = CW_BUF_INIT;
	cw_roster *newer = NULL;
	int error;

	if ((error = cli_parse(argc, argv, opts, NOPTS(opts), pos, 1, &npos)) < 0)
		goto done;
	key_path = cli_opt_value(opts, NOPTS(opts), "--key");
	dir = cli_opt_value(opts, NOPTS(opts), "--out");
	if (npos != 1 || key_path == NULL || dir == NULL || *dir == '\0') {
		error = cw_error(
		    CW_EINVALID,
		    "usage: caseway handoff open FILE --key DOCTOR.key --out DIR [--org FINGERPRINT] "
		    "[--roster AGENCY.cert]");
		goto done;
	}
	if ((roster_path = cli_opt_value(opts, NOPTS(opts), "--roster")) != NULL &&
	    (error = read_roster(&newer, roster_path)) < 0)
		goto done;
	if ((error = open_doctor_key(&doctor, key_path)) < 0)
		goto done;
	if ((error = cw_handoff_open(&info, &names, pos[0], doctor, dir,
	                             cli_opt_value(opts, NOPTS(opts), "--org"), newer)) < 0)
		goto done;
	if (cli_g.json) {
		cJSON *doc = cJSON_CreateObject(), *files = cJSON_CreateArray(), *d = cJSON_CreateArray();
		size_t i = 0;

		cJSON_AddBoolToObject(doc, "verified", 1);
		info_json(doc, &info);
		cJSON_AddStringToObject(doc, "out", dir);
		cJSON_AddItemToArray(files, cJSON_CreateString("summary.html"));
		cJSON_AddItemToArray(files, cJSON_CreateString("ips.json"));
		while (i < names.len) {
			char *nl = memchr(names.data + i, '\n', names.len - i), path[160];
			size_t n = nl ? (size_t)(nl - (char *)(names.data + i)) : names.len - i;

			snprintf(path, sizeof(path), "documents/%.*s", (int)n, (const char *)names.data + i);
			cJSON_AddItemToArray(files, cJSON_CreateString(path));
			cJSON_AddItemToArray(d, cJSON_CreateString(path + 10));
			i += n + 1;
		}
		cJSON_AddItemToObject(doc, "files", files);
		cJSON_AddItemToObject(doc, "documents", d);
		cJSON_AddNumberToObject(doc, "bytes", (double)info.bytes);
		cli_json_print(doc);
	}
	cli_say("Verified: signed by %s (%s, device %s), vouched for by the agency %s.", info.signer.name,
	        cw_role_name(info.signer.role), info.signer.device_id, info.agency);
	cli_say("Agency key fingerprint: %s", info.org_fingerprint);
	if (cli_opt_value(opts, NOPTS(opts), "--org"))
		cli_say("  It is the one you gave with --org.");
	else
		cli_say(
		    "  Compare it with the one the agency gave you by phone or in person (or pass --org to "
		    "check it).");
	if (info.contact[0])
		cli_say("Coordinator's contact: %s", info.contact);
	cli_say("Wrote %s/summary.html (open it in a browser), %s/ips.json (FHIR, for your records system) "
	        "and %zu document%s in %s/documents/.",
	        dir, dir, info.ndocs, info.ndocs == 1 ? "" : "s", dir);
done:
	cw_buf_dispose(&names);
	cw_keys_free(doctor);
	cw_roster_free(newer);
	return error;
}

/* ---- handoff reply ------------------------------------------------------------------ */

static int handoff_reply(int argc, char **argv)
{
	cli_opt opts[] = { { "--key", 1, NULL }, { "-o", 1, NULL } };
	const char *pos[1], *notes[MAX_REPEAT], *files[MAX_REPEAT], *key_path, *out;
	size_t npos, nnotes = 0, nfiles = 0;
	cw_keys *doctor = NULL;
	cw_handoff_info info;
	char hex[2 * CW_ID_BYTES + 1];
	int error;

	if ((error = take_repeated(&argc, argv, "--note", notes, &nnotes)) < 0 ||
	    (error = take_repeated(&argc, argv, "--file", files, &nfiles)) < 0 ||
	    (error = cli_parse(argc, argv, opts, NOPTS(opts), pos, 1, &npos)) < 0)
		goto done;
	key_path = cli_opt_value(opts, NOPTS(opts), "--key");
	out = cli_opt_value(opts, NOPTS(opts), "-o");
	if (npos != 1 || key_path == NULL || out == NULL) {
		error = cw_error(CW_EINVALID,
		                 "usage: caseway handoff reply HANDOFF [--note TEXT]... [--file F]... "
		                 "--key DOCTOR.key -o REPLY");
		goto done;
	}
	if ((error = open_doctor_key(&doctor, key_path)) < 0 ||
	    (error = cw_handoff_reply(&info, pos[0], doctor, notes, nnotes, files, nfiles, out)) < 0)
		goto done;
	cw_id_hex(hex, info.case_id);
	if (cli_g.json) {
		cJSON *doc = cJSON_CreateObject();

		cJSON_AddStringToObject(doc, "file", out);
		info_json(doc, &info);
		cJSON_AddNumberToObject(doc, "notes", (double)nnotes);
		cJSON_AddNumberToObject(doc, "files", (double)nfiles);
		cJSON_AddNumberToObject(doc, "recipients", (double)info.nreply_to);
		cli_json_print(doc);
	}
	cli_say("Wrote %s: %zu note%s and %zu file%s for %s (%s), signed with your key and sealed to the "
	        "agency's devices. Send it back to them; they take it in with `caseway sync import`.",
	        out, nnotes, nnotes == 1 ? "" : "s", nfiles, nfiles == 1 ? "" : "s", info.agency,
	        info.signer.name);
done:
	cw_keys_free(doctor);
	return error;
}

int cmd_handoff(int argc, char **argv)
{
	if (argc >= 1 && strcmp(argv[0], "create") == 0)
		return handoff_create(argc - 1, argv + 1);
	if (argc >= 1 && strcmp(argv[0], "open") == 0)
		return handoff_open(argc - 1, argv + 1);
	if (argc >= 1 && strcmp(argv[0], "reply") == 0)
		return handoff_reply(argc - 1, argv + 1);
	return cw_error(CW_EINVALID,
	                "usage: caseway handoff create|open|reply ... (see `caseway help handoff`)");
}

/* ---- the node takes a reply in (`sync import REPLY`) -------------------------------- */

int cli_handoff_import(cw_home *h, const char *path, cJSON *arr)
{
	cw_reply_report rep;
	int error;

	if (cw_handoff_sniff(path) == 2) {
		memset(&rep, 0, sizeof(rep));
		error = cw_error(CW_EINVALID,
		                 "%s is a handoff package for a follow-up doctor, not something to "
		                 "import: the doctor opens it with `caseway handoff open`",
		                 path);
	} else {
		error = cw_handoff_import_reply(&rep, h, path);
	}
	if (arr) {
		cJSON *d = cJSON_CreateObject();

		cJSON_AddStringToObject(d, "file", path);
		cJSON_AddStringToObject(d, "kind", "doctor reply");
		cJSON_AddStringToObject(
		    d, "status", error == CW_OK ? (rep.again ? "already imported" : "imported") : "refused");
		cJSON_AddStringToObject(d, "case", rep.case_hex);
		cJSON_AddStringToObject(d, "doctor", rep.doctor_fpr);
		cJSON_AddNumberToObject(d, "notes", (double)rep.notes);
		cJSON_AddNumberToObject(d, "files", (double)rep.files);
		cJSON_AddItemToArray(arr, d);
	}
	if (error < 0)
		return error;
	if (rep.again)
		cli_say("%s: the doctor's reply on case %.8s was taken in before; nothing changed.", path,
		        rep.case_hex);
	else
		cli_say(
		    "%s: reply from the follow-up doctor (key %s) verified: %zu note%s and %zu file%s added "
		    "to case %.8s.",
		    path, rep.doctor_fpr, rep.notes, rep.notes == 1 ? "" : "s", rep.files,
		    rep.files == 1 ? "" : "s", rep.case_hex);
	return CW_OK;
}
