// What the system layer needs of Linux's C interface beyond Swift's Glibc module, imported by exactly
// one Swift module: LinuxSystem. No library of its own: the symbols come from libc.
#pragma once
#include <linux/sched.h>     // CLONE_NEWNET, for setns(2)

// glibc declares setns(2) only under _GNU_SOURCE, and Swift's Glibc module is built without it, so
// the function is invisible to Swift. This is the same prototype as glibc's <bits/sched.h>; a
// repeated compatible declaration is harmless when _GNU_SOURCE is defined.
extern int setns(int fd, int nstype);
