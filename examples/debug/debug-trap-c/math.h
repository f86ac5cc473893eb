int load_scaled(unsigned addr);
int checked_div(int a, int b);
