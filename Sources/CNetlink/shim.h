/* The C side of Plimsoll's netlink layer: libnl-3, libnl-genl-3 and the kernel's IPVS and genl
 * constants. Only headers live here (a system-library target holds nothing else); the static inline
 * functions below stand in for libnl macros and kernel macros that Swift cannot import. */
#ifndef PLIMSOLL_CNETLINK_SHIM_H
#define PLIMSOLL_CNETLINK_SHIM_H

#include <netlink/netlink.h>
#include <netlink/msg.h>
#include <netlink/attr.h>
#include <netlink/socket.h>
#include <netlink/errno.h>
#include <netlink/genl/genl.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/family.h>
#include <linux/netlink.h>
#include <linux/genetlink.h>
#include <linux/ip_vs.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <errno.h>

/* NLMSG_ALIGN and NLA_ALIGN are macros. */
static inline int cnetlink_nlmsg_align(int length) { return NLMSG_ALIGN(length); }
static inline int cnetlink_nla_align(int length) { return NLA_ALIGN(length); }

/* errno is a macro on glibc; Swift sees it through Glibc but this keeps the netlink layer self-contained. */
static inline int cnetlink_errno(void) { return errno; }

/* Send and receive timeouts on the socket, so a wedged kernel cannot hold a caller forever. */
static inline int cnetlink_set_timeouts(struct nl_sock *sock, long send_ms, long receive_ms) {
    int fd = nl_socket_get_fd(sock);
    struct timeval snd = { .tv_sec = send_ms / 1000, .tv_usec = (send_ms % 1000) * 1000 };
    struct timeval rcv = { .tv_sec = receive_ms / 1000, .tv_usec = (receive_ms % 1000) * 1000 };
    if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &snd, sizeof snd) < 0) return -errno;
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &rcv, sizeof rcv) < 0) return -errno;
    return 0;
}

/* Ask the kernel for extended acknowledgements (its own error text) and capped acks (no echo of
 * the request), which keeps a 10,000-message batch's acknowledgements small. */
static inline int cnetlink_enable_ext_ack(struct nl_sock *sock) {
    int fd = nl_socket_get_fd(sock), on = 1;
#ifdef NETLINK_CAP_ACK
    (void)setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &on, sizeof on);
#endif
#ifdef NETLINK_EXT_ACK
    if (setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &on, sizeof on) < 0) return -errno;
#endif
    return 0;
}

#endif
