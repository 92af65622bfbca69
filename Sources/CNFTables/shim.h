#ifndef PALISADE_CNFTABLES_SHIM_H
#define PALISADE_CNFTABLES_SHIM_H

/* libnftables (Debian libnftables-dev): the library nft itself is built on. */
#include <nftables/libnftables.h>

#include <unistd.h>
#include <sys/syscall.h>
/* sockaddr_nl, nlmsghdr flags: the ruleset generation is read over netlink directly. */
#include <linux/netlink.h>

/*
 * Moves the calling thread (only that thread) into the network namespace open
 * as `fd`, like setns(fd, CLONE_NEWNET). Swift's Glibc module is built without
 * _GNU_SOURCE and does not export setns(2), hence this wrapper.
 * Returns 0, or -1 with errno set.
 */
static inline int cnftables_enter_network_namespace(int fd) {
    return (int)syscall(SYS_setns, fd, 0x40000000 /* CLONE_NEWNET */);
}

#endif
