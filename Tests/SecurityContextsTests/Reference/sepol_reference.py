#!/usr/bin/env python3
"""Reference canonicalizer for the SecurityContexts tests: libsepol through ctypes.

Usage: sepol_reference.py POLICY.bin < contexts
Loads a binary policy with sepol_set_policydb_from_file, then for each input line (a context)
calls sepol_context_to_sid and sepol_sid_to_context, and prints one line:
    OK <context as libsepol prints it>     or     ERR
Exits non-zero if libsepol or the policy cannot be loaded.
"""
import ctypes
import ctypes.util
import sys


def main() -> int:
    if len(sys.argv) != 2:
        print("usage: sepol_reference.py POLICY.bin < contexts", file=sys.stderr)
        return 2
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    libc.fopen.restype = ctypes.c_void_p
    libc.fopen.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    libc.fclose.argtypes = [ctypes.c_void_p]
    libc.free.argtypes = [ctypes.c_void_p]
    sepol = ctypes.CDLL("libsepol.so.2")
    sepol.sepol_set_policydb_from_file.argtypes = [ctypes.c_void_p]
    sepol.sepol_set_policydb_from_file.restype = ctypes.c_int
    sepol.sepol_context_to_sid.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_uint32)]
    sepol.sepol_context_to_sid.restype = ctypes.c_int
    sepol.sepol_sid_to_context.argtypes = [ctypes.c_uint32, ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(ctypes.c_size_t)]
    sepol.sepol_sid_to_context.restype = ctypes.c_int

    fp = libc.fopen(sys.argv[1].encode(), b"r")
    if not fp:
        print("cannot open " + sys.argv[1], file=sys.stderr)
        return 1
    if sepol.sepol_set_policydb_from_file(fp) != 0:
        print("libsepol cannot load " + sys.argv[1], file=sys.stderr)
        return 1
    libc.fclose(fp)

    out = sys.stdout
    for line in sys.stdin.buffer:
        context = line.rstrip(b"\n")
        sid = ctypes.c_uint32(0)
        if sepol.sepol_context_to_sid(context, len(context), ctypes.byref(sid)) != 0:
            out.write("ERR\n")
            continue
        text = ctypes.c_void_p()
        length = ctypes.c_size_t(0)
        if sepol.sepol_sid_to_context(sid.value, ctypes.byref(text), ctypes.byref(length)) != 0:
            out.write("ERR\n")
            continue
        out.write("OK " + ctypes.string_at(text.value).decode() + "\n")
        libc.free(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
