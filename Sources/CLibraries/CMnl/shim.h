// libmnl and the kernel's netlink/xfrm headers, imported by exactly one Swift module: NetlinkSocket.
#pragma once
#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <linux/xfrm.h>
#include <sys/socket.h>
