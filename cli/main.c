#include <stdio.h>
int main(void) { puts("caseway"); return 0; }
