/* cli/cmd_erase.c - `caseway erase CASE`, and how erased cases are shown
 * (case show, log). */
#include "cli.h"
#include "node/case.h"
#include "node/erase.h"
#include "node/org.h"
#include "sync/tombstone.h"
#include "util/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NOPTS(o) (sizeof(o) / sizeof((o)[0]))

/* The device's name in the newest roster ("" when unknown). */
static void device_name(char out[CW_NAME_MAX + 1], cw_home *h, const char *device)
{
	cw_roster *r = NULL;
	size_t i;

	out[0] = '\0';
	if (strcmp(device, cw_keys_id(cw_home_keys(h))) == 0) {
		snprintf(out, CW_NAME_MAX + 1, "%s", cw_home_name(h));
		return;
	}
	if (cw_org_roster(&r, h) < 0) {
		cw_error_clear();
		return;
	}
	for (i = 0; i < cw_roster_count(r); i++)
		if (strcmp(cw_roster_cert(r, i)->device_id, device) == 0)
			snprintf(out, CW_NAME_MAX + 1, "%s", cw_roster_cert(r, i)->name);
	cw_roster_free(r);
}

static cJSON *erasure_json(cw_home *h, const cw_erasure *e)
{
	cJSON *o = cJSON_CreateObject();
	char hex[2 * CW_ID_BYTES + 1], when[32], name[CW_NAME_MAX + 1];

	cw_id_hex(hex, e->case_id);
	cli_time(when, e->at);
	device_name(name, h, e->by);
	cJSON_AddStringToObject(o, "id", hex);
	cJSON_AddBoolToObject(o, "erased", 1);
	cJSON_AddStringToObject(o, "erased_at", when);
	cJSON_AddStringToObject(o, "erased_by", e->by);
	cJSON_AddStringToObject(o, "erased_by_name", name);
	return o;
}

int cli_show_erased(int *shown, cw_home *h, const unsigned char case_id[16])
{
	cw_erasure e;
	char hex[2 * CW_ID_BYTES + 1], when[32], name[CW_NAME_MAX + 1];
	int error = cw_erase_get(&e, cw_home_store(h), case_id);

	*shown = 0;
	if (error == CW_ENOTFOUND) {
		cw_error_clear();
		return CW_OK;
	}
	if (error < 0)
		return error;
	*shown = 1;
	if (cli_g.json) {
		cli_json_print(erasure_json(h, &e));
		return CW_OK;
	}
	cw_id_hex(hex, e.case_id);
	cli_time(when, e.at);
	device_name(name, h, e.by);
	printf("Case %s was erased on %s by %s (%s).\n", hex, when, name[0] ? name : "an unknown device",
	       e.by);
	printf("Nothing else of it is kept on this node.\n");
	return CW_OK;
}

typedef struct {
	cw_home *h;
	const uint8_t *case_id;
	const char *author;
	int64_t since;
	cJSON *arr;
} log_ctx;

static int log_one(const cw_erasure *e, void *p)
{
	log_ctx *c = p;
	char hex[2 * CW_ID_BYTES + 1], when[32], name[CW_NAME_MAX + 1];

	if ((c->case_id && memcmp(c->case_id, e->case_id, CW_ID_BYTES) != 0) ||
	    (c->author && strcmp(c->author, e->by) != 0) || e->at < c->since)
		return CW_OK;
	if (c->arr) {
		cJSON *o = erasure_json(c->h, e);

		/* the fields of the log's other entries, too */
		cw_id_hex(hex, e->case_id);
		cli_time(when, e->at);
		device_name(name, c->h, e->by);
		cJSON_AddStringToObject(o, "at", when);
		cJSON_AddStringToObject(o, "author", e->by);
		cJSON_AddStringToObject(o, "author_name", name);
		cJSON_AddStringToObject(o, "case", hex);
		cJSON_AddStringToObject(o, "action", "erased");
		cJSON_AddItemToArray(c->arr, o);
		return CW_OK;
	}
	cw_id_hex(hex, e->case_id);
	cli_time(when, e->at);
	device_name(name, c->h, e->by);
	printf("%s  %.8s  %s %-12.12s erased    the case (right to be forgotten)\n", when, hex, e->by, name);
	return CW_OK;
}

int cli_log_erasures(cw_home *h, const unsigned char *case_id, const char *author, long long since,
                     cJSON *arr)
{
	log_ctx c = { h, case_id, author, since, arr };

	return cw_erase_each(cw_home_store(h), log_one, &c);
}

int cmd_erase(int argc, char **argv)
{
	cli_opt opts[] = { { "--yes", 0, NULL } };
	const char *pos[1];
	size_t npos;
	cw_home *h = NULL;
	cw_erasure e;
	uint8_t case_id[CW_ID_BYTES];
	char hex[2 * CW_ID_BYTES + 1];
	int error, already = 0;

	if ((error = cli_parse(argc, argv, opts, NOPTS(opts), pos, 1, &npos)) < 0)
		goto done;
	if (npos != 1) {
		error = cw_error(CW_EINVALID, "usage: caseway erase CASE [--yes]");
		goto done;
	}
	if ((error = cli_open_home(&h)) < 0 || (error = cw_case_find(case_id, cw_home_store(h), pos[0])) < 0)
		goto done;
	cw_id_hex(hex, case_id);
	if (cli_opt_value(opts, NOPTS(opts), "--yes") == NULL) {
		char line[16];

		if (!isatty(0)) {
			error = cw_error(CW_EINVALID,
			                 "erasing case %.8s cannot be undone: add --yes to confirm", hex);
			goto done;
		}
		fprintf(stderr, "Erase case %.8s for good, on this node and every node it syncs with? [y/N] ",
		        hex);
		if (fgets(line, sizeof(line), stdin) == NULL || (line[0] != 'y' && line[0] != 'Y')) {
			error = cw_error(CW_ERROR, "nothing erased");
			goto done;
		}
	}
	if ((error = cw_tombstone_erase(&e, &already, h, case_id)) < 0)
		goto done;
	if (cli_g.json) {
		cJSON *o = erasure_json(h, &e);

		cJSON_AddStringToObject(o, "tombstone", e.tombstone);
		cJSON_AddBoolToObject(o, "already", already);
		cli_json_print(o);
	} else if (already) {
		cli_say("Case %.8s was already erased; what was left of it on this node is gone now.", hex);
	} else {
		cli_say(
		    "Case %.8s erased: its keys, changes and documents are gone from this node. The other "
		    "nodes erase it when they next sync with this one or the hub.",
		    hex);
	}
done:
	cw_home_free(h);
	return error;
}
