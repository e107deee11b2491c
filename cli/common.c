/* cli/common.c - option parsing, passphrases, opening the node, output. */
#include "cli.h"
#include "util/error.h"
#include "util/file.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define PASS_MAX 1024

cli_globals cli_g;
static cw_secret *last_pass;

int cli_parse(int argc, char **argv, cli_opt *opts, size_t nopts, const char **pos, size_t maxpos,
              size_t *npos)
{
	int i;
	size_t k;

	*npos = 0;
	for (i = 0; i < argc; i++) {
		const char *a = argv[i];
		const char *eq;
		size_t namelen;
		int found = 0;

		if (a[0] != '-' || a[1] == '\0' || strcmp(a, "--") == 0) {
			if (strcmp(a, "--") == 0) {
				for (i++; i < argc; i++) {
					if (*npos >= maxpos)
						return cw_error(CW_EINVALID, "too many arguments: '%s'",
						                argv[i]);
					pos[(*npos)++] = argv[i];
				}
				break;
			}
			if (*npos >= maxpos)
				return cw_error(CW_EINVALID, "unexpected argument '%s'", a);
			pos[(*npos)++] = a;
			continue;
		}
		eq = strchr(a, '=');
		namelen = eq ? (size_t)(eq - a) : strlen(a);
		for (k = 0; k < nopts; k++) {
			if (strlen(opts[k].name) != namelen || strncmp(opts[k].name, a, namelen) != 0)
				continue;
			found = 1;
			if (opts[k].takes_value) {
				if (eq)
					opts[k].value = eq + 1;
				else if (i + 1 < argc)
					opts[k].value = argv[++i];
				else
					return cw_error(CW_EINVALID, "%s needs a value", opts[k].name);
			} else {
				if (eq)
					return cw_error(CW_EINVALID, "%s takes no value", opts[k].name);
				opts[k].value = "1";
			}
			break;
		}
		if (!found)
			return cw_error(CW_EINVALID, "unknown option '%s' (see `caseway help`)", a);
	}
	return CW_OK;
}

const char *cli_opt_value(const cli_opt *opts, size_t nopts, const char *name)
{
	size_t k;

	for (k = 0; k < nopts; k++)
		if (strcmp(opts[k].name, name) == 0)
			return opts[k].value;
	return NULL;
}

/* Read one line from fd into a guarded buffer, without the newline. */
static int read_line(cw_secret **out, int fd, const char *what)
{
	cw_secret *buf = NULL, *res = NULL;
	size_t len = 0;
	int error = CW_OK;

	*out = NULL;
	if ((error = cw_secret_new(&buf, PASS_MAX)) < 0)
		goto done;
	for (;;) {
		char c;
		ssize_t n = read(fd, &c, 1);

		if (n < 0) {
			error = cw_error_os(what);
			goto done;
		}
		if (n == 0 || c == '\n')
			break;
		if (len >= PASS_MAX) {
			error = cw_error(CW_EINVALID, "%s: passphrase too long (at most %d bytes)", what,
			                 PASS_MAX);
			goto done;
		}
		cw_secret_bytes(buf)[len++] = (uint8_t)c;
	}
	if (len > 0 && cw_secret_data(buf)[len - 1] == '\r')
		len--;
	if ((error = cw_secret_from(&res, cw_secret_data(buf), len)) < 0)
		goto done;
	*out = res;
done:
	cw_secret_free(buf);
	return error;
}

static int from_file(cw_secret **out, const char *path)
{
	int fd, error;

	if ((error = cw_file_open_in(&fd, path)) < 0)
		return error;
	error = read_line(out, fd, path);
	close(fd);
	return error;
}

static int prompt_once(cw_secret **out, int tty, const char *prompt)
{
	struct termios old, quiet;
	int error, restored = 0;

	if (tcgetattr(tty, &old) != 0)
		return cw_error_os("terminal");
	quiet = old;
	quiet.c_lflag &= (tcflag_t) ~(ECHO | ECHONL);
	quiet.c_lflag |= ICANON;
	if (write(tty, prompt, strlen(prompt)) < 0 || tcsetattr(tty, TCSAFLUSH, &quiet) != 0)
		return cw_error_os("terminal");
	error = read_line(out, tty, "terminal");
	if (tcsetattr(tty, TCSAFLUSH, &old) == 0)
		restored = 1;
	if (write(tty, "\n", 1) < 0 || !restored)
		error = error < 0 ? error : cw_error_os("terminal");
	return error;
}

static int prompt(cw_secret **out, const char *text, int confirm)
{
	cw_secret *a = NULL, *b = NULL;
	int tty, error;

	*out = NULL;
	if ((tty = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY)) < 0)
		return cw_error(CW_ELOCKED, "no passphrase: set CASEWAY_PASSPHRASE, give "
		                            "--passphrase-file FILE, or run caseway in a terminal");
	if ((error = prompt_once(&a, tty, text)) < 0)
		goto done;
	if (confirm) {
		if ((error = prompt_once(&b, tty, "Same passphrase again: ")) < 0)
			goto done;
		if (cw_secret_len(a) != cw_secret_len(b) ||
		    !cw_secret_equal(cw_secret_data(a), cw_secret_data(b), cw_secret_len(a))) {
			error = cw_error(CW_EINVALID, "the two passphrases differ");
			goto done;
		}
	}
	*out = a;
	a = NULL;
done:
	close(tty);
	cw_secret_free(a);
	cw_secret_free(b);
	return error;
}

static int check_new(cw_secret *s)
{
	if (cw_secret_len(s) == 0)
		return cw_error(CW_EINVALID, "the passphrase cannot be empty");
	return CW_OK;
}

int cli_passphrase(cw_secret **out, const char *text, int confirm)
{
	const char *env = getenv("CASEWAY_PASSPHRASE");
	int error;

	*out = NULL;
	if (cli_g.passphrase_file)
		error = from_file(out, cli_g.passphrase_file);
	else if (env)
		error = cw_secret_from(out, env, strlen(env));
	else
		error = prompt(out, text, confirm);
	if (error == CW_OK && confirm && (error = check_new(*out)) < 0) {
		cw_secret_free(*out);
		*out = NULL;
	}
	return error;
}

int cli_new_passphrase(cw_secret **out, const char *file)
{
	const char *env = getenv("CASEWAY_NEW_PASSPHRASE");
	int error;

	*out = NULL;
	if (file)
		error = from_file(out, file);
	else if (env)
		error = cw_secret_from(out, env, strlen(env));
	else
		error = prompt(out, "New passphrase: ", 1);
	if (error == CW_OK && (error = check_new(*out)) < 0) {
		cw_secret_free(*out);
		*out = NULL;
	}
	return error;
}

int cli_kdf_cost(cw_kdf_cost *out, const char *mem_mib, const char *passes)
{
	char *end;
	unsigned long long v;

	*out = cw_kdf_default;
	if (mem_mib) {
		v = strtoull(mem_mib, &end, 10);
		if (*mem_mib == '\0' || *end || v < (CW_KDF_MEM_MIN >> 20) || v > (CW_KDF_MEM_MAX >> 20))
			return cw_error(CW_EINVALID, "--kdf-memory must be %llu to %llu (MiB)",
			                (unsigned long long)(CW_KDF_MEM_MIN >> 20),
			                (unsigned long long)(CW_KDF_MEM_MAX >> 20));
		out->memlimit = (uint64_t)v << 20;
	}
	if (passes) {
		v = strtoull(passes, &end, 10);
		if (*passes == '\0' || *end || v < CW_KDF_OPS_MIN || v > CW_KDF_OPS_MAX)
			return cw_error(CW_EINVALID, "--kdf-passes must be %d to %d", CW_KDF_OPS_MIN,
			                CW_KDF_OPS_MAX);
		out->opslimit = v;
	}
	return CW_OK;
}

int cli_open_home(cw_home **out)
{
	char *dir = NULL, *keys = NULL;
	int error;

	*out = NULL;
	if ((error = cw_home_locate(&dir, cli_g.home_flag)) < 0)
		goto done;
	if ((keys = cw_path_join(dir, "keys")) == NULL) {
		error = cw_error_nomem();
		goto done;
	}
	if (!cw_file_exists(keys)) {
		error = cw_error(CW_ENOTFOUND,
		                 "no caseway node at %s: run `caseway init --name NAME` to make one", dir);
		goto done;
	}
	cw_secret_free(last_pass);
	last_pass = NULL;
	if ((error = cli_passphrase(&last_pass, "Passphrase: ", 0)) < 0)
		goto done;
	error = cw_home_open(out, dir, (const char *)cw_secret_data(last_pass), cw_secret_len(last_pass));
done:
	free(dir);
	free(keys);
	return error;
}

const cw_secret *cli_last_passphrase(void)
{
	return last_pass;
}

void cli_forget_passphrase(void)
{
	cw_secret_free(last_pass);
	last_pass = NULL;
}

void cli_say(const char *fmt, ...)
{
	va_list ap;

	if (cli_g.json || cli_g.quiet)
		return;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

void cli_json_print(cJSON *doc)
{
	char *text = cJSON_Print(doc);

	if (text) {
		puts(text);
		cJSON_free(text);
	}
	cJSON_Delete(doc);
}

void cli_time(char out[32], long long t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, 32, "%lld", t);
}

int cli_read_input(cw_buf *out, const char *path, size_t cap)
{
	return cw_file_read(out, path, cap);
}

int cli_write_output(const char *path, const void *data, size_t len)
{
	if (path == NULL || strcmp(path, "-") == 0) {
		if (fwrite(data, 1, len, stdout) != len || fflush(stdout) != 0)
			return cw_error_os("standard output");
		return CW_OK;
	}
	return cw_file_write_atomic(path, data, len, 0644, 0);
}
