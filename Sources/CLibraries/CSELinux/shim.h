// libselinux, imported by exactly one Swift module: SELinuxKernel.
#pragma once
#include <selinux/selinux.h>
#include <selinux/avc.h>
