/* util/error.c - thread-local error message. */
#include "error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char last_message[512];

/* Format into a scratch buffer first: callers may pass cw_error_last() as
 * an argument to wrap the previous message. */
__attribute__((format(printf, 1, 0))) static void set_message(const char *fmt, va_list ap)
{
	char tmp[sizeof(last_message)];

	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	memcpy(last_message, tmp, sizeof(tmp));
}

void cw_error_set(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	set_message(fmt, ap);
	va_end(ap);
}

int cw_error(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	set_message(fmt, ap);
	va_end(ap);
	return code;
}

int cw_error_nomem(void)
{
	cw_error_set("out of memory");
	return CW_ERROR;
}

int cw_error_os(const char *what)
{
	int err = errno;

	cw_error_set("%s: %s", what, strerror(err));
	return CW_ERROR;
}

const char *cw_error_last(void)
{
	return last_message;
}

void cw_error_clear(void)
{
	last_message[0] = '\0';
}
