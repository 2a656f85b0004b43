// libmnl and the kernel's netlink/xfrm headers, imported by exactly one Swift module: NetlinkSocket.
#pragma once
// glibc's socket and <netinet/in.h> first: <linux/libc-compat.h> then leaves struct in6_addr and
// sockaddr_in6 to glibc, so this module and SwiftGlibc do not define them twice (which breaks any
// Swift module that sees both, e.g. a test importing Foundation and NetlinkSocket).
#include <sys/socket.h>
#include <netinet/in.h>
#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <linux/xfrm.h>
