/* stapio's data path: one reader thread per trace file, pinned to its CPU,
 * framing records into a shared serializer, and one writer thread that
 * emits them in sequence order to the output file. */
#ifndef STAPRUN_RELAY_READER_H
#define STAPRUN_RELAY_READER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "transport_user.h"

/* Opens trace0..N-1 under dirfd and starts the threads; 0 or -1. */
int stp_relay_start(int dirfd, enum stp_numbering num, FILE *out,
		    int timeout_ms, bool resumed, int verbose);
/* Drains everything still readable, stops the threads, closes the files;
 * with now set, skips the drain.  Prints lost-data statistics. */
void stp_relay_stop(bool now);
/* Bytes and records written so far. */
void stp_relay_counts(uint64_t *bytes, uint64_t *records);

#endif
