// OpenSSL libcrypto, imported by exactly one Swift module: ESPCrypto.
#pragma once
#include <openssl/evp.h>
#include <openssl/err.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
