/* Test-only shim, never shipped: Rust 1.78 and later take randomness on Windows from
 * bcryptprimitives.dll's ProcessPrng, which Windows has and wine 8.0 (Debian bookworm's) does
 * not, so a Rust program dies before main under it. This DLL of the same name exports
 * ProcessPrng by way of RtlGenRandom (SystemFunction036), which wine has. The tests place it
 * in their throwaway wine prefix's system32 (see docs/installing.md, "Windows", Tests). */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    while (length > 0) {
        ULONG step = length > 0x10000000 ? 0x10000000 : (ULONG)length;
        if (!SystemFunction036(data, step))
            return FALSE;
        data += step;
        length -= step;
    }
    return TRUE;
}
