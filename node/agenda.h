/*
 * node/agenda.h - what happens next, across every case on this node:
 * appointments, flights (departures and arrivals), pick-ups, hotel check-ins
 * and check-outs, and open tasks, in time order, each with the local time it
 * was written in.
 */
#ifndef CW_AGENDA_H
#define CW_AGENDA_H

#include "model.h"
#include "op.h"
#include "store.h"

typedef struct {
	int64_t utc;    /* when, seconds since the epoch */
	char local[40]; /* "2026-03-14 09:30 (+03:00)", or a date for all-day items */
	char case_hex[2 * CW_ID_BYTES + 1];
	char item_hex[2 * CW_ID_BYTES + 1];
	const char *patient; /* borrowed for the callback's duration */
	cw_kind kind;
	const char *event; /* "surgery", "flight departs", "pick-up", "task due", ... */
	char what[320];    /* a one-line description */
} cw_agenda_item;

/* Items with from <= utc < to, in time order, then case, then item. */
int cw_agenda_list(cw_store *st, int64_t from, int64_t to, int (*fn)(const cw_agenda_item *item, void *ctx),
                   void *ctx);

#endif
