/* cli/main.c - global options, dispatch, and the one table from error code
 * to exit status. */
#include "cli.h"
#include "crypto/secret.h"
#include "util/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *usage;
} command;

static const command commands[] = {
	{ "init", cmd_init,
	  "caseway init --name NAME [--role coordinator|hub|clinic|doctor]\n"
	  "             [--kdf-memory MiB] [--kdf-passes N]\n"
	  "  Make a new node in the home folder: device keys sealed under your passphrase\n"
	  "  and an empty encrypted store." },
	{ "whoami", cmd_whoami,
	  "caseway whoami [--request [-o FILE] | --cert [-o FILE]]\n"
	  "  Show this device: id, name, role, keys, agency.\n"
	  "  --request  write an enrolment request to send to head office\n"
	  "  --cert     write this device's certificate (with the agency roster)" },
	{ "passwd", cmd_passwd,
	  "caseway passwd [--new-passphrase-file F] [--kdf-memory MiB] [--kdf-passes N]\n"
	  "  Change the passphrase (new one from CASEWAY_NEW_PASSPHRASE, the file, or a prompt)." },
	{ "verify", cmd_verify,
	  "caseway verify [--rebuild]\n"
	  "  Check the keystore, the certificate, the roster, every change's signature and\n"
	  "  chain, and every page of the store. --rebuild also recomputes every case from\n"
	  "  the change log and checks it is identical to what is stored." },
	{ "log", cmd_log,
	  "caseway log [CASE] [--author DEVICE] [--since T]\n"
	  "  Who changed what, and when (oldest first)." },
	{ "case", cmd_case,
	  "caseway case new --patient NAME [--dob D] [--nationality CC] [--procedure P] [field=value ...]\n"
	  "caseway case list [--stage S] [--search TEXT]\n"
	  "caseway case show CASE\n"
	  "caseway case set CASE field=value ...\n"
	  "caseway case stage CASE STAGE\n"
	  "caseway case edit CASE ITEM field=value ...   ;  caseway case remove CASE ITEM\n"
	  "  Patient fields: name dob sex nationality languages interpreter phone email\n"
	  "  home_country address emergency_contact passport passport_expiry home_doctor\n"
	  "  home_doctor_email allergies conditions medications diet religion culture\n"
	  "  accessibility recovery_days consent consent_doc preauth claim cost_tolerance.\n"
	  "  Stages: inquiry consultation quoted booked travelling in-treatment recovering\n"
	  "  returned follow-up closed postponed cancelled. CASE: id or unique prefix." },
	{ "note", cmd_note, "caseway note add CASE TEXT [--channel note|call|email|message|family|visit]" },
	{ "appt", cmd_appt,
	  "caseway appt add CASE --kind consultation|diagnostic|surgery|follow-up|telehealth\n"
	  "                 --start T [--end T] [--provider P] [--location L] [--status S]\n"
	  "  Times are RFC 3339 with their offset: 2026-03-14T09:30+03:00" },
	{ "travel", cmd_travel,
	  "caseway travel add CASE --kind flight|stay|transfer|visa|insurance field=value ...\n"
	  "  flight: carrier number from to depart arrive direction(outbound|return|other)\n"
	  "  stay: hotel address check_in check_out accessible\n"
	  "  transfer: pickup from to driver phone\n"
	  "  visa: type number valid_from valid_to status\n"
	  "  insurance: provider policy valid_from valid_to phone" },
	{ "cost", cmd_cost,
	  "caseway cost add CASE --estimate|--charge|--payment AMOUNT CURRENCY [--label L]" },
	{ "doc", cmd_doc,
	  "caseway doc add CASE FILE [--kind K] [--title T]\n"
	  "caseway doc get CASE DOC -o FILE\n"
	  "  Documents are stored encrypted; kinds: medical-record scan lab-result consent\n"
	  "  passport invoice other." },
	{ "task", cmd_task,
	  "caseway task add CASE TEXT [--due T] [--for WHO]\n"
	  "caseway task done CASE TASK" },
	{ "feedback", cmd_feedback, "caseway feedback CASE --rating N [--testimonial yes|no]" },
	{ "check", cmd_check,
	  "caseway check [CASE]\n"
	  "  Journey and itinerary warnings: surgery before arrival, overlapping appointments,\n"
	  "  flying home too soon, hotel and visa gaps, consent, interpreter, costs, tasks." },
	{ "agenda", cmd_agenda,
	  "caseway agenda [--days N] [--from T]\n"
	  "  Appointments, flights, pick-ups, hotel dates and tasks across cases, in order." },
	{ "conflicts", cmd_conflicts,
	  "caseway conflicts [CASE]\n"
	  "  Fields two people changed at the same time; every value is kept." },
	{ "resolve", cmd_resolve, "caseway resolve CONFLICT --take VALUE" },
	{ "erase", cmd_erase,
	  "caseway erase CASE [--yes]\n"
	  "  Erase a case for good (right to be forgotten): its keys, changes and documents\n"
	  "  leave this node, and a signed erasure makes every node that syncs do the same.\n"
	  "  Only head office (a hub) or the coordinator who created the case may erase it." },
	{ "org", cmd_org,
	  "caseway org create --name NAME [--kdf-memory MiB] [--kdf-passes N]\n"
	  "caseway org enroll REQUEST --role ROLE [-o CERT] [--org-key FILE]\n"
	  "caseway org join CERT\n"
	  "caseway org revoke DEVICE [--org-key FILE]\n"
	  "caseway org roster\n"
	  "caseway org allowed-signers [-o FILE]\n"
	  "  The agency: its key (on the head-office node), device certificates, the roster;\n"
	  "  revoke cuts a lost or retired device off: what this node holds from it stays\n"
	  "  accepted, anything later is refused everywhere, and the keys of its cases rotate;\n"
	  "  allowed-signers writes the file stock `git verify-commit` needs to check caseway's\n"
	  "  signatures (git -c gpg.ssh.allowedSignersFile=FILE verify-commit ...)." },
	{ "peer", cmd_peer,
	  "caseway peer add NAME --cert CERT [--url URL]\n"
	  "caseway peer list\n"
	  "  The hub, clinics and colleagues this node syncs with. CERT is what they write\n"
	  "  with `caseway whoami --cert`; URL is a git remote (path, file://, ssh://, git://)." },
	{ "share", cmd_share,
	  "caseway share CASE --with PEER\n"
	  "  Let PEER read and change the case: its key goes to them with the next sync." },
	{ "unshare", cmd_unshare,
	  "caseway unshare CASE --with PEER\n"
	  "  Stop sharing the case with PEER: a new case key protects what is written from now\n"
	  "  on and goes only to the remaining members. PEER keeps what it already received." },
	{ "sync", cmd_sync,
	  "caseway sync export --to PEER -o FILE [--max-bytes N]\n"
	  "caseway sync import FILE...\n"
	  "caseway sync push [REMOTE] ;  caseway sync pull [REMOTE] ;  caseway sync [REMOTE]\n"
	  "caseway sync status\n"
	  "  Exchange signed changes: as bundle files (USB stick, e-mail) or with a git remote\n"
	  "  (REMOTE: a peer's name, a path or a URL; default: the hub). A bundle whose earlier\n"
	  "  pieces are missing waits in the inbox (exit 5) and goes in when they arrive." },
	{ "keygen", cmd_keygen,
	  "caseway keygen -o NAME [--kdf-memory MiB] [--kdf-passes N]\n"
	  "  A follow-up doctor's key pair, without a node: NAME.key (private, sealed under a\n"
	  "  passphrase) and NAME.pub (one line to give the agency), and its fingerprint." },
	{ "handoff", cmd_handoff,
	  "caseway handoff create CASE --to DOCTOR.pub -o FILE [--contact TEXT] [--doc DOC]... [--no-docs]\n"
	  "caseway handoff open FILE --key DOCTOR.key --out DIR [--org FINGERPRINT] [--roster AGENCY.cert]\n"
	  "caseway handoff reply FILE [--note TEXT]... [--file F]... --key DOCTOR.key -o REPLY\n"
	  "  Hand a case to the follow-up doctor at home: one file signed by this device and\n"
	  "  sealed to the doctor, holding summary.html, ips.json (HL7 FHIR IPS) and the\n"
	  "  documents (by default all but passport copies and invoices). The doctor opens it\n"
	  "  without a node and can reply with notes and files; the agency takes the reply in\n"
	  "  with `caseway sync import REPLY`." },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

/* The one table from error code to exit status (docs/USER-GUIDE.md). */
static int exit_status(int code)
{
	switch (code) {
	case CW_OK:
		return 0;
	case CW_EINVALID:
		return 2;
	case CW_ELOCKED:
		return 3;
	case CW_EVERIFY:
		return 4;
	case CW_EWAIT:
		return 5;
	default:
		return 1;
	}
}

static void usage_all(FILE *f)
{
	size_t i;

	fprintf(f,
	        "caseway %s - offline-first case records for medical-travel coordinators\n\n"
	        "Global options: --home DIR, --json, --passphrase-file F, -q, --version\n\n",
	        CW_VERSION);
	for (i = 0; i < NCOMMANDS; i++)
		fprintf(f, "%s\n\n", commands[i].usage);
	fprintf(f, "Exit codes: 0 ok, 1 failed, 2 usage, 3 wrong passphrase or locked,\n"
	           "4 verification failed, 5 waiting for earlier bundles.\n");
}

/* The error as one line: control characters (from values echoed back) become
 * spaces, so a message never spans lines. */
static void print_error(const char *msg)
{
	char line[600];
	size_t i;

	snprintf(line, sizeof(line), "%s", msg);
	for (i = 0; line[i]; i++)
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
			line[i] = ' ';
	fprintf(stderr, "caseway: %s\n", line);
}

static const command *find(const char *name)
{
	size_t i;

	for (i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

/* Take the global options out of argv wherever they stand. */
static int take_globals(int *argc, char **argv)
{
	int i, o = 0;

	for (i = 0; i < *argc; i++) {
		const char *a = argv[i];
		const char **slot = NULL;

		if (strcmp(a, "--") == 0) { /* the rest is the command's, untouched */
			while (i < *argc)
				argv[o++] = argv[i++];
			break;
		}
		if (strcmp(a, "--json") == 0) {
			cli_g.json = 1;
			continue;
		}
		if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
			cli_g.quiet = 1;
			continue;
		}
		if (strcmp(a, "--home") == 0)
			slot = &cli_g.home_flag;
		else if (strcmp(a, "--passphrase-file") == 0)
			slot = &cli_g.passphrase_file;
		if (slot) {
			if (i + 1 >= *argc)
				return cw_error(CW_EINVALID, "%s needs a value", a);
			*slot = argv[++i];
			continue;
		}
		if (strncmp(a, "--home=", 7) == 0) {
			cli_g.home_flag = a + 7;
			continue;
		}
		if (strncmp(a, "--passphrase-file=", 18) == 0) {
			cli_g.passphrase_file = a + 18;
			continue;
		}
		argv[o++] = argv[i];
	}
	*argc = o;
	return CW_OK;
}

int main(int argc, char **argv)
{
	const command *cmd;
	int error;

	argc--;
	argv++;
	if ((error = take_globals(&argc, argv)) < 0)
		goto fail;
	if (argc == 0) {
		usage_all(stderr);
		return 2;
	}
	if (strcmp(argv[0], "--version") == 0 || strcmp(argv[0], "version") == 0) {
		printf("caseway %s\n", CW_VERSION);
		return 0;
	}
	if (strcmp(argv[0], "help") == 0 || strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0) {
		if (argc > 1 && (cmd = find(argv[1])) != NULL) {
			printf("%s\n", cmd->usage);
			return 0;
		}
		usage_all(stdout);
		return 0;
	}
	if ((cmd = find(argv[0])) == NULL) {
		error = cw_error(CW_EINVALID, "unknown command '%s' (see `caseway help`)", argv[0]);
		goto fail;
	}
	if ((error = cw_secret_startup()) < 0)
		goto fail;
	error = cmd->run(argc - 1, argv + 1);
	cli_forget_passphrase();
	if (error < 0)
		goto fail;
	return 0;
fail:
	print_error(cw_error_last());
	return exit_status(error);
}
