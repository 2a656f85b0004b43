#include "SepolOracle.h"
int sepol_oracle_placeholder(void) { return 0; }
