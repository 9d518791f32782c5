/* The unloader: a small root-only process staprun starts before it loads
 * a module, so that the module is removed whenever the run ends without
 * an asked-for detach - stapio finished, failed to start, crashed or was
 * killed (F9, F18).  It is root in all its ids, so the caller cannot
 * signal it, and it is in its own session, so a terminal's Ctrl-C does
 * not reach it.  It knows one module name and nothing else.
 *
 * Whoever holds the other end of its socket (staprun, then stapio) sends
 * one verdict byte; end of file without one counts as UNLOAD, done only
 * when the module is still there and still the caller's. */
#ifndef STAPRUN_UNLOADER_H
#define STAPRUN_UNLOADER_H

#include <sys/types.h>

#define STP_UNLOADER_UNLOAD 'U'		/* remove it now; answer whether it went */
#define STP_UNLOADER_DETACH 'D'		/* leave it loaded (-L, SIGQUIT, failed -A) */
#define STP_UNLOADER_NOT_LOADED 'N'	/* init_module failed: nothing of ours */

/* Starts the unloader for module name loaded by uid owner; returns our
 * end of the socket (close-on-exec), or -1 after a message. */
int stp_unloader_start(const char *name, uid_t owner, const char *prog);

/* Sends verdict; for UNLOAD waits (bounded) for the answer.  0, or -1
 * when the module could not be removed or the unloader is gone. */
int stp_unloader_tell(int fd, char verdict);

#endif
