/* epoll for the benchmark's simulated agents: <sys/epoll.h> is not part of Swift's Glibc module. */
#include <sys/epoll.h>
