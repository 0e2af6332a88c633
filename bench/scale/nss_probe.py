#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""What a host's lookups see while tesserad rebuilds its NSS memory cache:
calls getpwnam_r of the built libnss_tessera.so.2 (as glibc calls it) in a
loop for SECONDS, and prints one JSON object: calls, how many did not find
the user (status other than NSS_STATUS_SUCCESS), the slowest call and the
99th percentile, in ms.

    nss_probe.py MODULE NAME SECONDS     ($TESSERA_NSS_SOCKET, $TESSERA_NSS_CACHE as usual)

bench/scale/run starts it, then makes a change, so that the image goes
invalid at once and the lookups take the socket until the next image."""

import ctypes
import json
import sys
import time

NSS_STATUS_SUCCESS = 1


def main():
    module, name, seconds = sys.argv[1], sys.argv[2].encode(), float(sys.argv[3])
    lib = ctypes.CDLL(module)
    getpwnam = lib._nss_tessera_getpwnam_r
    getpwnam.restype = ctypes.c_int
    getpwnam.argtypes = (ctypes.c_char_p, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t,
                         ctypes.POINTER(ctypes.c_int))
    pw = ctypes.create_string_buffer(256)         # struct passwd is 48 bytes
    buf = ctypes.create_string_buffer(4096)
    err = ctypes.c_int(0)
    times, missed = [], 0
    # Ready: the caller makes its change after this line.
    print("ready", flush=True)
    end = time.perf_counter() + seconds
    while True:
        start = time.perf_counter()
        if start > end:
            break
        st = getpwnam(name, pw, buf, len(buf), ctypes.byref(err))
        times.append(time.perf_counter() - start)
        if st != NSS_STATUS_SUCCESS:
            missed += 1
    times.sort()
    print(json.dumps({"calls": len(times), "missed": missed, "max_ms": times[-1] * 1000,
                      "p99_ms": times[min(len(times) - 1, int(len(times) * 0.99))] * 1000}), flush=True)


if __name__ == "__main__":
    main()
