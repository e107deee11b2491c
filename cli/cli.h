/*
 * cli/cli.h - what the command modules of cli/ share: the parsed global
 * options, option parsing, the passphrase, opening the node, and output.
 * Only cli/ prints or chooses exit codes.
 */
#ifndef CW_CLI_H
#define CW_CLI_H

#include "crypto/keystore.h"
#include "node/home.h"

#include <cjson/cJSON.h>
#include <stddef.h>

typedef struct {
	const char *home_flag;       /* --home */
	const char *passphrase_file; /* --passphrase-file */
	int json;                    /* --json */
	int quiet;                   /* -q */
} cli_globals;

extern cli_globals cli_g;

/* Command options: a table of names; values or booleans land in .value. */
typedef struct {
	const char *name; /* "--role" */
	int takes_value;
	const char *value; /* the value, or "1" for a boolean that was given */
} cli_opt;

/* Parse argv (after the command words) against opts; positionals land in
 * pos (at most maxpos). CW_EINVALID (usage) on anything unknown. */
int cli_parse(int argc, char **argv, cli_opt *opts, size_t nopts, const char **pos, size_t maxpos,
              size_t *npos);
/* The value of option `name` in opts, or NULL. */
const char *cli_opt_value(const cli_opt *opts, size_t nopts, const char *name);

/* The passphrase: $CASEWAY_PASSPHRASE, --passphrase-file, or a no-echo
 * prompt on the terminal (asked twice when `confirm`). The result is in
 * guarded memory; free with cw_secret_free. */
int cli_passphrase(cw_secret **out, const char *prompt, int confirm);
/* A new passphrase for passwd: $CASEWAY_NEW_PASSPHRASE, --new-passphrase-file
 * or a prompt (twice). */
int cli_new_passphrase(cw_secret **out, const char *file);

/* KDF cost from --kdf-memory MiB / --kdf-passes N (NULL values: default). */
int cli_kdf_cost(cw_kdf_cost *out, const char *mem_mib, const char *passes);

/* Locate and unlock the node (passphrase as above). */
int cli_open_home(cw_home **out);
/* The passphrase used for the last cli_open_home (borrowed), for the org key. */
const cw_secret *cli_last_passphrase(void);
/* Wipe and free it (main does, after every command). */
void cli_forget_passphrase(void);

/* Output: a human line unless --json/-q. */
void cli_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print a JSON document on stdout and free it. */
void cli_json_print(cJSON *doc);
/* Format a unix time as RFC 3339 UTC into out (32 bytes). */
void cli_time(char out[32], long long t);

/* Read a whole small input file given on the command line. */
int cli_read_input(cw_buf *out, const char *path, size_t cap);
/* Write output: to path, or stdout when path is NULL or "-". */
int cli_write_output(const char *path, const void *data, size_t len);

/* Commands: argc/argv start after the command word(s). Return a cw_ code. */
int cmd_init(int argc, char **argv);
int cmd_whoami(int argc, char **argv);
int cmd_passwd(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_org(int argc, char **argv);
int cmd_case(int argc, char **argv);
int cmd_note(int argc, char **argv);
int cmd_appt(int argc, char **argv);
int cmd_travel(int argc, char **argv);
int cmd_cost(int argc, char **argv);
int cmd_doc(int argc, char **argv);
int cmd_task(int argc, char **argv);
int cmd_feedback(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_agenda(int argc, char **argv);
int cmd_conflicts(int argc, char **argv);
int cmd_resolve(int argc, char **argv);
int cmd_log(int argc, char **argv);
int cmd_peer(int argc, char **argv);
int cmd_share(int argc, char **argv);
int cmd_unshare(int argc, char **argv);
int cmd_sync(int argc, char **argv);
int cmd_keygen(int argc, char **argv);
int cmd_handoff(int argc, char **argv);
/* Take a follow-up doctor's reply in (sync import): prints, or adds to arr. */
int cli_handoff_import(cw_home *h, const char *path, cJSON *arr);
int cmd_erase(int argc, char **argv);

/* Erased cases (cli/cmd_erase.c): *shown = 1 when case_id was erased and
 * that was printed (case show); the erasures for `log` (filters may be
 * NULL/0), printed or added to arr (when not NULL). */
int cli_show_erased(int *shown, cw_home *h, const unsigned char case_id[16]);
int cli_log_erasures(cw_home *h, const unsigned char *case_id, const char *author, long long since,
                     cJSON *arr);

#endif
