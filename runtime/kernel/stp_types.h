/* Fixed-width types for the runtime.  Inside a module they come from the
 * kernel; the unit tests compile the runtime's pure parts in user space
 * with STP_USER_TEST defined. */
#ifndef STP_TYPES_H
#define STP_TYPES_H

#ifdef STP_USER_TEST
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#else
#include <linux/types.h>
#include <linux/string.h>
#endif

#endif
