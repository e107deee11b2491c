/*
 * util/error.h - the one way caseway reports errors.
 *
 * Every fallible function returns an int: CW_OK (0) on success or one of the
 * negative codes below. The function that finds the failure sets a message
 * once, in plain words, with cw_error_set(); callers pass the code up
 * unchanged. Only cli/ prints the message and chooses the exit status.
 */
#ifndef CW_ERROR_H
#define CW_ERROR_H

typedef enum {
	CW_OK = 0,
	CW_ERROR = -1,     /* failed: I/O, out of memory, internal */
	CW_ENOTFOUND = -2, /* no such thing */
	CW_EEXISTS = -3,   /* already there */
	CW_EINVALID = -4,  /* malformed input or bad usage */
	CW_EVERIFY = -5,   /* signature, MAC or chain check failed */
	CW_ELOCKED = -6,   /* wrong passphrase */
	CW_EWAIT = -7      /* prerequisites missing; queued */
} cw_error_code;

/* Set the thread's last error message. Returns nothing; pair with a code. */
void cw_error_set(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Set the message and return code, for `return cw_error(CW_EINVALID, ...)`. */
int cw_error(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Report an allocation failure; returns CW_ERROR. */
int cw_error_nomem(void);

/* Report errno (with a prefix such as a path); returns CW_ERROR. */
int cw_error_os(const char *what);

/* The thread's last message; never NULL (empty when none was set). */
const char *cw_error_last(void);

/* Forget the last message. */
void cw_error_clear(void);

#endif
