#include "math.h"

volatile unsigned g_addr = 0x7ffffff0u;
volatile int g_div = 0;

__attribute__((export_name("run")))
int run(void) {
    return load_scaled(g_addr) + 1;
}

__attribute__((export_name("divide")))
int divide(int a) {
    return checked_div(a, g_div);
}
