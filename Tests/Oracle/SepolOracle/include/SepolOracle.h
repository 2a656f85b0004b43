#pragma once
int sepol_oracle_placeholder(void);
