/* epoll and eventfd for the Posix module's reactor (brother's poll loop and the benchmark's simulated agents): <sys/epoll.h>
 * and <sys/eventfd.h> are not part of Swift's Glibc module. Also the calls Swift cannot reach from Glibc: prctl (variadic),
 * pipe2 (a GNU extension) and capset (no glibc wrapper is declared). */
#include <linux/capability.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Names the calling thread (as top -H and /proc/PID/task/TID/comm show it); prctl is variadic,
 * which Swift cannot call. */
static inline void cepoll_name_thread(const char *name) { prctl(PR_SET_NAME, name, 0, 0, 0); }

/* pipe2(2): <unistd.h> declares it only under _GNU_SOURCE; glibc has had it since 2.9. */
int pipe2(int pipefd[2], int flags);
static inline int cepoll_pipe2(int fds[2], int flags) { return pipe2(fds, flags); }

/* Capabilities belong to each thread, and these three act on the calling thread only.
 * The ambient set (PR_CAP_AMBIENT_CLEAR_ALL; EINVAL before Linux 4.3, which has none). */
static inline int cepoll_clear_ambient_capabilities(void) { return prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); }

/* One capability out of the bounding set (PR_CAPBSET_DROP): EPERM without CAP_SETPCAP, EINVAL past the last capability. */
static inline int cepoll_drop_bounding_capability(int capability) { return prctl(PR_CAPBSET_DROP, capability, 0, 0, 0); }

/* capset(2) with empty effective, permitted and inheritable sets (version 3: all 64 bits). */
static inline int cepoll_clear_capabilities(void) {
    struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {{0, 0, 0}, {0, 0, 0}};
    return (int)syscall(SYS_capset, &header, data);
}
