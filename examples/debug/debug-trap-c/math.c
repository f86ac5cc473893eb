/* Helpers for main.c; both can trap. */
#include "math.h"

int load_scaled(unsigned addr) {
    volatile int *p = (volatile int *)addr;
    int v = *p;
    return v * 5;
}

int checked_div(int a, int b) {
    if (b == 0)
        __builtin_trap();
    return a / b;
}
