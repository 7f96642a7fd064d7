/* epoll and eventfd for the Posix module's reactor (brother's poll loop and the benchmark's simulated agents): <sys/epoll.h>
 * and <sys/eventfd.h> are not part of Swift's Glibc module. */
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>

/* Names the calling thread (as top -H and /proc/PID/task/TID/comm show it); prctl is variadic,
 * which Swift cannot call. */
static inline void cepoll_name_thread(const char *name) { prctl(PR_SET_NAME, name, 0, 0, 0); }
